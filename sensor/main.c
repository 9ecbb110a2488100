/* main.c - tapio-sensor: read the configuration, start the sensor, run until signalled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/selftest.h"
#include "core/sensor.h"

int main(int argc, char **argv)
{
	static struct sensor sensor;
	struct config cfg;
	char err[512];
	int rc;

	/* The processes the self-test spawns: the memory case's OOM victim, and the one
	 * whose fork, exec and exit the process case watches. */
	if (argc == 2 && !strcmp(argv[0], SELFTEST_CHILD_NAME) && !strcmp(argv[1], "grow"))
		return selftest_child_grow();
	if (argc == 2 && !strcmp(argv[0], SELFTEST_CHILD_NAME))
		return atoi(argv[1]);
	config_init(&cfg);
	switch (config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT:
		config_free(&cfg);
		return 0;
	case CONFIG_ERROR:
		log_error("%s", err);
		config_free(&cfg);
		return 2;
	case CONFIG_OK:
		break;
	}
	log_set_level(cfg.log_level);
	if (config_validate(&cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		config_free(&cfg);
		return 2;
	}
	if (sensor_start(&sensor, &cfg) < 0) {
		config_free(&cfg);
		return 1;
	}
	rc = sensor_run(&sensor);
	config_free(&cfg);
	return rc;
}
