/* sensor.h - the running sensor: one libuv loop and everything hung on it.
 *
 * Owns the configuration in effect, the kernel feature probe, the observers, the
 * enrichment caches, the event hub and the gRPC server, and the order in which they start
 * and stop. Everything here runs on the loop thread; only the gRPC completion queue has a
 * thread of its own (api/server.c), which hands its work to the loop.
 */
#ifndef TAPIO_SENSOR_H
#define TAPIO_SENSOR_H

#include <stdint.h>
#include <uv.h>

#include "core/config.h"
#include "core/features.h"
#include "core/observer.h"

struct hub;
struct enrich;
struct server;

struct sensor {
	uv_loop_t loop;
	struct config *cfg;
	struct features features;
	struct observer observers[CONFIG_MAX_OBSERVERS]; /* by observer_table index */
	int n_observers;
	struct enrich *enrich;
	struct hub *hub;
	struct server *server;

	char boot_id[37]; /* random UUID of this run */
	char kernel_release[65];
	uint64_t started_unix_ns; /* wall clock at start */
	int64_t mono_to_real_ns;  /* add to a CLOCK_MONOTONIC time to get wall clock */

	uv_signal_t sig_int, sig_term;
	uv_timer_t stats_timer; /* loss notices and deferred notices, once a second */
	uint64_t last_stats_ns;
	int stopping;
	int exit_code;
};

/* Brings the sensor up: probe, observers, caches, hub, server. Returns 0, or -1 after
 * logging one line that names what failed (the sensor is then already torn down). */
int sensor_start(struct sensor *s, struct config *cfg);
/* Runs the loop until SIGINT/SIGTERM (or sensor_stop), then tears everything down. */
int sensor_run(struct sensor *s);
/* Asks the loop to stop (from the loop thread). */
void sensor_stop(struct sensor *s, int exit_code);

/* CLOCK_MONOTONIC now, ns. */
uint64_t sensor_mono_ns(void);
/* Wall clock ns of a CLOCK_MONOTONIC timestamp. */
uint64_t sensor_mono_to_unix(const struct sensor *s, uint64_t mono_ns);

#endif
