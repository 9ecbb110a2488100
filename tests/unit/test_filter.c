/* Server-side filters: compilation, AND inside a filter, OR across filters, deny wins,
 * and errors that name the field. */
#include <criterion/criterion.h>
#include <string.h>

#include "hub/filter.h"

static char err[256];

static pb_event make_event(int observer, int type, uint32_t pid, pb_process *proc)
{
	pb_event ev = TAPIO__SENSOR__V1__EVENT__INIT;

	tapio__sensor__v1__process__init(proc);
	proc->pid = pid;
	ev.observer = observer;
	ev.type = type;
	ev.process = proc;
	return ev;
}

static pb_filter filter(char **observers, size_t n_obs, char **types, size_t n_types,
			uint32_t *pids, size_t n_pids)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;

	f.observers = observers;
	f.n_observers = n_obs;
	f.event_types = types;
	f.n_event_types = n_types;
	f.pids = pids;
	f.n_pids = n_pids;
	return f;
}

Test(filter, names_come_from_the_proto)
{
	cr_assert_eq(filter_observer_by_name("process"), PB_OBSERVER(PROCESS));
	cr_assert_eq(filter_observer_by_name("PROCESS"), PB_OBSERVER(PROCESS));
	cr_assert_eq(filter_observer_by_name("unspecified"), -1);
	cr_assert_eq(filter_observer_by_name(""), -1);
	cr_assert_eq(filter_type_by_name("process_exec"), PB_TYPE(PROCESS_EXEC));
	cr_assert_eq(filter_type_by_name("process_fork"), PB_TYPE(PROCESS_FORK));
	cr_assert_eq(filter_type_by_name("exec"), -1);
	cr_assert_str_eq(filter_type_name(PB_TYPE(PROCESS_EXIT)), "PROCESS_EXIT");
}

Test(filter, empty_set_passes_everything)
{
	pb_process p;
	pb_event ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXEC), 1, &p);
	struct filter_set *fs = filter_compile(NULL, 0, NULL, 0, err, sizeof(err));

	cr_assert_not_null(fs);
	cr_assert_eq(filter_match(fs, &ev), 1);
	cr_assert_eq(filter_match(NULL, &ev), 1);
	filter_free(fs);
}

Test(filter, and_inside_or_across_deny_wins)
{
	char *obs[] = {"process"}, *exec[] = {"process_exec"}, *exit_[] = {"process_exit"};
	uint32_t pids[] = {10, 20}, deny_pid[] = {20};
	pb_filter a0 = filter(obs, 1, exec, 1, pids, 2);      /* exec of 10 or 20 */
	pb_filter a1 = filter(NULL, 0, exit_, 1, NULL, 0);    /* any exit */
	pb_filter d0 = filter(NULL, 0, NULL, 0, deny_pid, 1); /* never pid 20 */
	pb_filter *allow[] = {&a0, &a1}, *deny[] = {&d0};
	struct filter_set *fs = filter_compile(allow, 2, deny, 1, err, sizeof(err));
	pb_process p;
	pb_event ev;

	cr_assert_not_null(fs, "%s", err);
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXEC), 10, &p);
	cr_assert_eq(filter_match(fs, &ev), 1);
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXEC), 11, &p);
	cr_assert_eq(filter_match(fs, &ev), 0, "pid not in the list");
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_FORK), 10, &p);
	cr_assert_eq(filter_match(fs, &ev), 0, "type not in the list");
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXIT), 11, &p);
	cr_assert_eq(filter_match(fs, &ev), 1, "second allow filter");
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXEC), 20, &p);
	cr_assert_eq(filter_match(fs, &ev), 0, "deny beats allow");
	ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXIT), 20, &p);
	cr_assert_eq(filter_match(fs, &ev), 0, "deny beats allow");
	ev = make_event(PB_OBSERVER(SENSOR), PB_TYPE(LOST_EVENTS), 10, &p);
	cr_assert_eq(filter_match(fs, &ev), 0);
	ev.process = NULL;
	cr_assert_eq(filter_match(fs, &ev), 0, "a pid filter needs a process");
	filter_free(fs);
}

Test(filter, deny_only)
{
	char *exit_[] = {"process_exit"};
	pb_filter d0 = filter(NULL, 0, exit_, 1, NULL, 0);
	pb_filter *deny[] = {&d0};
	struct filter_set *fs = filter_compile(NULL, 0, deny, 1, err, sizeof(err));
	pb_process p;
	pb_event ev = make_event(PB_OBSERVER(PROCESS), PB_TYPE(PROCESS_EXEC), 1, &p);

	cr_assert_eq(filter_match(fs, &ev), 1);
	ev.type = PB_TYPE(PROCESS_EXIT);
	cr_assert_eq(filter_match(fs, &ev), 0);
	filter_free(fs);
}

Test(filter, errors_name_the_field)
{
	char *obs[] = {"process", "dnss"}, *types[] = {"exec"};
	pb_filter ok = filter(NULL, 0, NULL, 0, NULL, 0);
	pb_filter bad_obs = filter(obs, 2, NULL, 0, NULL, 0);
	pb_filter bad_type = filter(NULL, 0, types, 1, NULL, 0);
	pb_filter *allow[] = {&ok, &bad_obs}, *deny[] = {&ok, &ok, &bad_type};

	cr_assert_null(filter_compile(allow, 2, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[1].observers[1]: unknown observer \"dnss\"");
	cr_assert_null(filter_compile(NULL, 0, deny, 3, err, sizeof(err)));
	cr_assert_str_eq(err, "deny[2].event_types[0]: unknown event type \"exec\"");
}
