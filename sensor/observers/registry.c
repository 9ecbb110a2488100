/* registry.c - the observers the sensor knows, in start order. Adding an observer is
 * one line here plus its own files (see core/observer.h). */
#include "core/observer.h"

extern const struct observer_ops process_observer;
extern const struct observer_ops memory_observer;
extern const struct observer_ops dns_observer;
extern const struct observer_ops network_observer;

const struct observer_ops *const observer_table[] = {
	&process_observer, &memory_observer, &dns_observer, &network_observer, NULL,
};
