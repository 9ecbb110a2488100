/* services.h - the RPC methods the server dispatches to (one file each in api/). */
#ifndef TAPIO_SERVICES_H
#define TAPIO_SERVICES_H

#include "api/server.h"

/* tapio.sensor.v1.Sensor/GetEvents (events_rpc.c). */
extern const struct rpc_method events_method;
/* Ends a live event stream with UNAVAILABLE because the sensor is stopping. */
void events_shutdown(struct rpc *r);

/* tapio.sensor.v1.Sensor/GetStatus (status_rpc.c). */
extern const struct rpc_method status_method;

#endif
