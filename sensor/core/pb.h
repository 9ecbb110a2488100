/* pb.h - short names for the generated protobuf-c types of tapio.sensor.v1.
 *
 * protoc-c spells every type with its full package path; these aliases keep the code
 * readable. Nothing else lives here.
 */
#ifndef TAPIO_PB_H
#define TAPIO_PB_H

#include "tapio/sensor/v1/sensor.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

typedef Tapio__Sensor__V1__Event pb_event;
typedef Tapio__Sensor__V1__Process pb_process;
typedef Tapio__Sensor__V1__Container pb_container;
typedef Tapio__Sensor__V1__Pod pb_pod;
typedef Tapio__Sensor__V1__LostEvents pb_lost;
typedef Tapio__Sensor__V1__ProcessExec pb_exec;
typedef Tapio__Sensor__V1__ProcessExit pb_exit;
typedef Tapio__Sensor__V1__ProcessFork pb_fork;
typedef Tapio__Sensor__V1__ProcessForkFailed pb_fork_failed;
typedef Tapio__Sensor__V1__EventFilter pb_filter;
typedef Tapio__Sensor__V1__GetEventsRequest pb_events_request;
typedef Tapio__Sensor__V1__GetEventsResponse pb_events_response;
typedef Tapio__Sensor__V1__GetStatusResponse pb_status;
typedef Google__Protobuf__Timestamp pb_timestamp;

#define PB_OBSERVER(x) TAPIO__SENSOR__V1__OBSERVER__OBSERVER_##x
#define PB_TYPE(x) TAPIO__SENSOR__V1__EVENT_TYPE__EVENT_TYPE_##x
#define PB_PAYLOAD(x) TAPIO__SENSOR__V1__EVENT__PAYLOAD_##x
#define PB_LOSS(x) TAPIO__SENSOR__V1__LOSS_SOURCE__LOSS_SOURCE_##x

static inline void pb_set_time(pb_timestamp *t, uint64_t unix_ns)
{
	google__protobuf__timestamp__init(t);
	t->seconds = (int64_t)(unix_ns / 1000000000ULL);
	t->nanos = (int32_t)(unix_ns % 1000000000ULL);
}

#endif
