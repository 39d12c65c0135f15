/* engine/run: one capture run from start to finish.
 *
 * Opens the capture (every fanout socket joined before any packet flows),
 * builds the workers with their flow tables, event queues and dissector
 * contexts, starts them pinned, runs the aggregator on the calling thread
 * until the input ends or a stop is asked for, then joins and frees
 * everything. A stop (signal, duration, count) ends the sources; the workers
 * drain what was already captured, report every open flow and exit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine/internal.h"

/* Set from signal handlers: the one flag that must be reachable without a
 * run pointer. Read by the aggregator. */
static _Atomic bool stop_requested;

void eng_set_log(eng_log_fn fn)
{
	/* One sink for the process, kept by ring (the lowest layer). */
	ring_set_log(fn);
}

void eng_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ring_logv(level, fmt, ap);
	va_end(ap);
}

void eng_request_stop(void)
{
	/* Pairs with the acquire load in eng_stop_pending. */
	atomic_store_explicit(&stop_requested, true, memory_order_release);
}

bool eng_stop_pending(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_acquire);
}

void eng_config_defaults(struct eng_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ring.backend = RING_BACKEND_TPACKET;
	cfg->dpi = true;
	cfg->pin = true;
	cfg->max_flows = 1u << 20;
	cfg->timeout_tcp = 300;
	cfg->timeout_tcp_closed = 10;
	cfg->timeout_udp = 60;
	cfg->timeout_other = 30;
	cfg->event_queue_bytes = 8u << 20;
}

static uint32_t fanout_hash(void *ctx, const struct ring_pkt *rp)
{
	struct eng_run *run = ctx;
	struct eng_pkt p;
	enum eng_malformed why;
	struct flow_key key;

	if (eng_decode(rp, &p, &why) != DEC_OK)
		return 0;
	flow_key_make(&p, &key);
	return (uint32_t)(flow_key_hash(&key, run->seed) >> 32);
}

static void workers_free(struct eng_run *run)
{
	if (!run->w)
		return;
	for (unsigned i = 0; i < run->n; i++) {
		struct eng_worker *w = &run->w[i];
		if (w->flows.ht)
			flow_table_fini(&w->flows);
		dissect_worker_free(w->dw);
		ring_spsc_fini(&w->events);
	}
	free(run->w);
	run->w = NULL;
}

/* Where each worker runs (-1: anywhere); used before the capture opens so
 * ring memory lands on the workers' nodes. */
static int *workers_place(const struct eng_config *cfg, unsigned n)
{
	int *cpus = calloc(n, sizeof(int));

	if (cpus && (!cfg->pin || eng_cpu_plan(n, cfg->ring.iface, cpus) < 0))
		for (unsigned i = 0; i < n; i++)
			cpus[i] = -1;
	return cpus;
}

static int workers_build(struct eng_run *run, const int *cpus)
{
	const struct eng_config *cfg = run->cfg;
	int err = 0;

	run->w = calloc(run->n, sizeof(*run->w));
	if (!run->w)
		return -ENOMEM;
	for (unsigned i = 0; i < run->n; i++) {
		struct eng_worker *w = &run->w[i];
		w->id = i;
		w->run = run;
		w->cpu = cpus[i];
		w->src = ring_capture_source(run->cap, i);
		err = flow_table_init(&w->flows, cfg->max_flows, run->seed);
		if (err)
			break;
		w->flows.timeout_ns[FC_TCP] = (uint64_t)cfg->timeout_tcp * 1000000000ull;
		w->flows.timeout_ns[FC_TCP_CLOSED] = (uint64_t)cfg->timeout_tcp_closed * 1000000000ull;
		w->flows.timeout_ns[FC_UDP] = (uint64_t)cfg->timeout_udp * 1000000000ull;
		w->flows.timeout_ns[FC_OTHER] = (uint64_t)cfg->timeout_other * 1000000000ull;
		err = ring_spsc_init(&w->events, cfg->event_queue_bytes);
		if (err)
			break;
		if (cfg->dpi) {
			struct dissect_config dc = {.pkt_budget = cfg->dpi_budget};
			w->dw = dissect_worker_new(&dc, eng_dpi_emit, w);
			if (!w->dw) {
				err = -ENOMEM;
				break;
			}
		}
	}
	return err;
}

int eng_run(const struct eng_config *cfg_in)
{
	struct eng_config cfg = *cfg_in;
	struct eng_run run = {0};
	FILE *out = stdout;
	unsigned started = 0;
	int *cpus = NULL;
	int err;

	if (!cfg.workers)
		cfg.workers = eng_cpu_cores();
	run.cfg = &cfg;
	run.n = cfg.workers;
	run.offline = cfg.ring.backend == RING_BACKEND_FILE;
	if (getrandom(&run.seed, sizeof(run.seed), 0) != sizeof(run.seed))
		run.seed = 0x5eed5eed5eedull ^ (uint64_t)(uintptr_t)&run;
	atomic_store(&stop_requested, false);

	rcu_register_thread();
	cfg.ring.workers = cfg.workers;
	cfg.ring.hash = fanout_hash;
	cfg.ring.hash_ctx = &run;
	cfg.ring.count = cfg.count;
	cpus = workers_place(&cfg, run.n);
	if (!cpus) {
		err = -ENOMEM;
		goto out;
	}
	cfg.ring.cpus = cpus;
	run.cap = ring_capture_open(&cfg.ring);
	if (!run.cap) {
		err = -errno;
		goto out;
	}
	err = workers_build(&run, cpus);
	if (err) {
		eng_log(0, "engine: cannot set up %u workers: %s", run.n, strerror(-err));
		goto out;
	}
	if (cfg.json_path && strcmp(cfg.json_path, "-")) {
		out = fopen(cfg.json_path, "w");
		if (!out) {
			err = -errno;
			eng_log(0, "engine: cannot write %s: %s", cfg.json_path, strerror(errno));
			out = stdout;
			goto out;
		}
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	for (started = 0; started < run.n; started++) {
		err = -pthread_create(&run.w[started].thread, NULL, eng_worker_main,
			&run.w[started]);
		if (err) {
			eng_log(0, "engine: cannot start worker %u: %s", started, strerror(-err));
			break;
		}
	}
	if (!err)
		err = ring_capture_start(run.cap);
	if (err) {
		ring_capture_stop(run.cap);
		for (unsigned i = started; i < run.n; i++)
			atomic_store(&run.w[i].done, true);
	}
	/* The aggregator runs on this thread; it also notices stop requests. */
	int aerr = eng_aggregate(&run, out);
	if (!err)
		err = aerr;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(run.w[i].thread, NULL);
		if (!err && run.w[i].error)
			err = run.w[i].error;
	}
out:
	if (out != stdout)
		fclose(out);
	else
		fflush(stdout);
	workers_free(&run);
	ring_capture_free(run.cap);
	free(cpus);
	/* Flows removed last are freed by the call_rcu thread shortly; not
	 * waiting for it here (rcu_barrier) saves ~10 ms per run. */
	rcu_unregister_thread();
	return err;
}
