/* ticker.h - a repeating timer on the sensor's loop for a part of an observer that is freed
 * in the observer's destroy, before the loop has run again: the timer's memory is the
 * ticker's own and goes when libuv has closed the handle, so the part can be freed at once.
 */
#ifndef TAPIO_TICKER_H
#define TAPIO_TICKER_H

#include <stdint.h>

#include <uv.h>

struct ticker;
typedef void (*ticker_fn)(void *arg);

/* fn(arg) every every_ms, the first after every_ms. NULL when memory ran out. */
struct ticker *ticker_start(uv_loop_t *loop, uint64_t every_ms, ticker_fn fn, void *arg);
/* No call of fn after it returns. NULL is allowed. */
void ticker_stop(struct ticker *t);

#endif
