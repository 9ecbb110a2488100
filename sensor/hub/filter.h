/* filter.h - a subscriber's allow and deny lists, compiled once per subscription.
 *
 * Inside one EventFilter every field that is set must match (AND); a list matches when
 * any of its filters does (OR); an event passes when the allow list is empty or matches,
 * and no deny filter matches. Names (observers, event types) are resolved at compile
 * time, so matching compares integers. Every error names the field, e.g.
 * "allow[0].observers[1]: unknown observer \"dnss\"".
 */
#ifndef TAPIO_FILTER_H
#define TAPIO_FILTER_H

#include <stddef.h>

#include "core/pb.h"

struct filter_set;

struct filter_set *filter_compile(pb_filter *const *allow, size_t n_allow, pb_filter *const *deny,
				  size_t n_deny, char *err, size_t errlen);
/* 1 when ev passes. fs NULL passes everything. */
int filter_match(const struct filter_set *fs, const pb_event *ev);
void filter_free(struct filter_set *fs);

/* 0 when no allow filter can match events of this observer (so loss notices about it
 * would only be noise to this subscriber). */
int filter_may_match_observer(const struct filter_set *fs, int observer);
/* The observer an event type belongs to (the numbering plan of sensor.proto), or -1. */
int filter_type_observer(int type);

/* Names accepted in filters: observer "process", event type "process_exec", ... */
int filter_observer_by_name(const char *name);
int filter_type_by_name(const char *name);
const char *filter_type_name(int type);

#endif
