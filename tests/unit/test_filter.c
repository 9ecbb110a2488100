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

/* ---- every field ------------------------------------------------------------------ */

typedef Tapio__Sensor__V1__StringMatch pb_strmatch;

static pb_strmatch sm_exact(char *s)
{
	pb_strmatch m = TAPIO__SENSOR__V1__STRING_MATCH__INIT;

	m.match_case = TAPIO__SENSOR__V1__STRING_MATCH__MATCH_EXACT;
	m.exact = s;
	return m;
}

static pb_strmatch sm_prefix(char *s)
{
	pb_strmatch m = sm_exact(s);

	m.match_case = TAPIO__SENSOR__V1__STRING_MATCH__MATCH_PREFIX;
	return m;
}

static pb_strmatch sm_regex(char *s)
{
	pb_strmatch m = sm_exact(s);

	m.match_case = TAPIO__SENSOR__V1__STRING_MATCH__MATCH_REGEX;
	return m;
}

#define CID "3f8a0c1d2e4b5a697887766554433221aabbccddeeff00112233445566778899"

struct rich {
	pb_event ev;
	pb_process p;
	pb_container c;
	pb_pod pod;
};

static void rich_event(struct rich *r)
{
	r->ev = (pb_event)TAPIO__SENSOR__V1__EVENT__INIT;
	tapio__sensor__v1__process__init(&r->p);
	tapio__sensor__v1__container__init(&r->c);
	tapio__sensor__v1__pod__init(&r->pod);
	r->p.pid = 100;
	r->p.ppid = 1;
	r->p.uid = 1000;
	r->p.comm = "nginx";
	r->p.binary = "/usr/sbin/nginx";
	r->p.cgroup_id = 4242;
	r->c.id = CID;
	r->pod.name = "web-7f9c";
	r->pod.namespace_ = "shop";
	r->ev.observer = PB_OBSERVER(PROCESS);
	r->ev.type = PB_TYPE(PROCESS_EXEC);
	r->ev.process = &r->p;
	r->ev.container = &r->c;
	r->ev.pod = &r->pod;
}

/* Compiles one allow filter and matches the rich event against it. */
static int allow_one(pb_filter *f)
{
	pb_filter *allow[] = {f};
	struct rich r;
	struct filter_set *fs = filter_compile(allow, 1, NULL, 0, err, sizeof(err));
	int m;

	cr_assert_not_null(fs, "%s", err);
	rich_event(&r);
	m = filter_match(fs, &r.ev);
	filter_free(fs);
	return m;
}

Test(filter, every_field_matches_and_mismatches)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	uint32_t one[] = {1}, two[] = {2}, uid[] = {1000}, uid0[] = {0};
	uint64_t cg[] = {4242}, cg0[] = {1};
	char *cid_full[] = {CID}, *cid_prefix[] = {"3f8a0c1d2e4b"}, *cid_other[] = {"000000000000"};
	char *ns[] = {"shop"}, *ns_other[] = {"kube-system"};
	pb_strmatch nginx = sm_exact("nginx"), ngi = sm_prefix("ngi"),
		    rx = sm_regex("^/usr/s?bin/"), bad = sm_exact("bash"),
		    web = sm_regex("^web-[0-9a-f]+$");
	pb_strmatch *p_nginx[] = {&nginx}, *p_ngi[] = {&ngi}, *p_rx[] = {&rx}, *p_bad[] = {&bad},
		    *p_web[] = {&web}, *p_bad_nginx[] = {&bad, &nginx};

	f.parent_pids = one, f.n_parent_pids = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.parent_pids = two;
	cr_assert_eq(allow_one(&f), 0, "parent_pids");
	f.n_parent_pids = 0;

	f.uids = uid, f.n_uids = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.uids = uid0;
	cr_assert_eq(allow_one(&f), 0, "uids");
	f.n_uids = 0;

	f.cgroup_ids = cg, f.n_cgroup_ids = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.cgroup_ids = cg0;
	cr_assert_eq(allow_one(&f), 0, "cgroup_ids");
	f.n_cgroup_ids = 0;

	f.comm = p_nginx, f.n_comm = 1;
	cr_assert_eq(allow_one(&f), 1, "comm exact");
	f.comm = p_ngi;
	cr_assert_eq(allow_one(&f), 1, "comm prefix");
	f.comm = p_bad;
	cr_assert_eq(allow_one(&f), 0, "comm other");
	f.comm = p_bad_nginx, f.n_comm = 2;
	cr_assert_eq(allow_one(&f), 1, "comm: any of the list");
	f.n_comm = 0;

	f.binary = p_rx, f.n_binary = 1;
	cr_assert_eq(allow_one(&f), 1, "binary regex");
	f.binary = p_nginx;
	cr_assert_eq(allow_one(&f), 0, "binary exact is the whole path");
	f.n_binary = 0;

	f.container_ids = cid_full, f.n_container_ids = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.container_ids = cid_prefix;
	cr_assert_eq(allow_one(&f), 1, "12-character prefix");
	f.container_ids = cid_other;
	cr_assert_eq(allow_one(&f), 0);
	f.n_container_ids = 0;

	f.pod_namespaces = ns, f.n_pod_namespaces = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.pod_namespaces = ns_other;
	cr_assert_eq(allow_one(&f), 0);
	f.n_pod_namespaces = 0;

	f.pod_names = p_web, f.n_pod_names = 1;
	cr_assert_eq(allow_one(&f), 1);
	f.pod_names = p_bad;
	cr_assert_eq(allow_one(&f), 0);
}

Test(filter, fields_of_absent_parts_do_not_match)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	char *ns[] = {"shop"};
	pb_filter *allow[] = {&f};
	struct filter_set *fs;
	struct rich r;

	f.pod_namespaces = ns;
	f.n_pod_namespaces = 1;
	fs = filter_compile(allow, 1, NULL, 0, err, sizeof(err));
	rich_event(&r);
	r.ev.pod = NULL; /* a process outside Kubernetes */
	cr_assert_eq(filter_match(fs, &r.ev), 0);
	filter_free(fs);
}

Test(filter, invalid_filters_name_the_field)
{
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT;
	pb_strmatch paren = sm_regex("(unclosed"), empty = TAPIO__SENSOR__V1__STRING_MATCH__INIT,
		    noprefix = sm_prefix("");
	pb_strmatch *p_paren[] = {&paren}, *p_empty[] = {&empty}, *p_noprefix[] = {&noprefix};
	char *short_id[] = {"3f8a"}, *upper_id[] = {"3F8A0C1D2E4B"}, *obs[] = {"process"},
	     *lost[] = {"lost_events"}, *blank[] = {""};
	pb_filter *allow[] = {&f};

	f.binary = p_paren, f.n_binary = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert(strstr(err, "allow[0].binary[0]: bad regex \"(unclosed\": "), "%s", err);
	f.n_binary = 0;

	f.comm = p_empty, f.n_comm = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].comm[0]: set one of exact, prefix or regex");
	f.comm = p_noprefix;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].comm[0]: empty prefix matches everything; leave it out");
	f.n_comm = 0;

	f.container_ids = short_id, f.n_container_ids = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].container_ids[0]: \"3f8a\" is not a container id (12 to 64 "
			      "lower-case hex)");
	f.container_ids = upper_id;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	f.n_container_ids = 0;

	f.observers = obs, f.n_observers = 1;
	f.event_types = lost, f.n_event_types = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].event_types[0]: \"lost_events\" contradicts observers: its "
			      "observer is not listed");
	f.n_observers = f.n_event_types = 0;

	f.pod_namespaces = blank, f.n_pod_namespaces = 1;
	cr_assert_null(filter_compile(allow, 1, NULL, 0, err, sizeof(err)));
	cr_assert_str_eq(err, "allow[0].pod_namespaces[0]: empty value");
}

Test(filter, observer_reach_for_loss_notices)
{
	char *obs[] = {"process"};
	pb_filter f = TAPIO__SENSOR__V1__EVENT_FILTER__INIT, any = f;
	pb_filter *only_process[] = {&f}, *both[] = {&f, &any};
	struct filter_set *fs;

	f.observers = obs;
	f.n_observers = 1;
	fs = filter_compile(only_process, 1, NULL, 0, err, sizeof(err));
	cr_assert_eq(filter_may_match_observer(fs, PB_OBSERVER(PROCESS)), 1);
	cr_assert_eq(filter_may_match_observer(fs, 2), 0);
	filter_free(fs);
	fs = filter_compile(both, 2, NULL, 0, err, sizeof(err));
	cr_assert_eq(filter_may_match_observer(fs, 2), 1, "the second filter takes any observer");
	filter_free(fs);
	cr_assert_eq(filter_may_match_observer(NULL, 2), 1);
	cr_assert_eq(filter_type_observer(PB_TYPE(PROCESS_FORK)), PB_OBSERVER(PROCESS));
	cr_assert_eq(filter_type_observer(PB_TYPE(LOST_EVENTS)), PB_OBSERVER(SENSOR));
	cr_assert_eq(filter_type_observer(200), -1);
}
