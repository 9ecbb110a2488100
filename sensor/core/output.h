/* output.h - draining one observer's kernel output (BPF ring buffer or perf buffer)
 * from the libuv loop.
 *
 * Owns the libbpf ring_buffer / perf_buffer and the uv_poll on its epoll fd. When the fd
 * is readable, every available record is handed to the observer's decoder; nothing here
 * blocks, so a slow consumer shows up as ring-buffer-full drops in the kernel, counted.
 */
#ifndef TAPIO_OUTPUT_H
#define TAPIO_OUTPUT_H

#include <uv.h>

struct observer;
struct output;

/* Starts consuming the observer's "events" map. perf: 1 when the map is a
 * PERF_EVENT_ARRAY. Returns NULL with errno on failure. */
struct output *output_start(uv_loop_t *loop, struct observer *o, int map_fd, int perf);
/* Consumes what is available now; returns records handled or a negative errno. */
int output_drain(struct output *out);
/* Stops polling and frees (the uv handle is closed asynchronously). */
void output_stop(struct output *out);

#endif
