/* services.h - the RPC methods the server dispatches to (one file each in api/). */
#ifndef TAPIO_SERVICES_H
#define TAPIO_SERVICES_H

#include "api/server.h"

/* tapio.sensor.v1.Sensor/GetEvents (events_rpc.c). */
extern const struct rpc_method events_method;
/* Ends a live event stream with UNAVAILABLE because the sensor is stopping. */
void events_shutdown(struct rpc *r);
/* A stream's peer address and request summary, from its subscriber's context. */
const char *events_stream_peer(const void *ctx);
const char *events_stream_request(const void *ctx);

/* tapio.sensor.v1.Sensor/GetStatus (status_rpc.c). */
extern const struct rpc_method status_method;

/* grpc.health.v1.Health/Check and /Watch (health_rpc.c). */
extern const struct rpc_method health_check_method;
extern const struct rpc_method health_watch_method;
/* Tells a live Watch stream the service is NOT_SERVING and ends it with UNAVAILABLE,
 * because the sensor is stopping. */
void health_shutdown(struct rpc *r);

/* grpc.reflection.v1 and v1alpha ServerReflection/ServerReflectionInfo
 * (reflection_rpc.c). */
extern const struct rpc_method reflection_v1_method;
extern const struct rpc_method reflection_v1alpha_method;
/* Ends a live reflection stream with UNAVAILABLE because the sensor is stopping. */
void reflection_shutdown(struct rpc *r);
/* Frees the symbol index built at the first reflection request that needed it. */
void reflection_free_index(void);

#endif
