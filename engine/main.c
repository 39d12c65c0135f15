/* procsniff: per-process network monitor with deep packet inspection.
 *
 * main parses the command line, picks the default interface when none is
 * given, installs the signal handlers and runs the engine. It is the only
 * place (with the TUI and the bench) that talks to the user.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

static int verbosity = 1;

static void log_stderr(int level, const char *msg)
{
	if (level > verbosity)
		return;
	fprintf(stderr, "procsniff: %s%s\n",
		level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

static void on_signal(int sig)
{
	(void)sig;
	eng_request_stop();
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: procsniff [-i IFACE | -r FILE] [options]\n"
		"\n"
		"Input:\n"
		"  -i, --interface IFACE   capture live on IFACE (\"any\" for all); default: the\n"
		"                          interface of the default route\n"
		"  -r, --read FILE         read a pcap or pcapng file\n"
		"      --backend NAME      live capture backend: tpacket (default) or pcap\n"
		"  -f, --filter EXPR       BPF filter in tcpdump syntax\n"
		"  -s, --snaplen N         bytes kept per packet (default 262144)\n"
		"      --block-size BYTES  TPACKET_V3 block size (default 4194304, >= 131072)\n"
		"      --block-count N     blocks per worker ring (default 8)\n"
		"      --block-timeout MS  block retire timeout (default 10)\n"
		"\n"
		"Processing:\n"
		"  -W, --workers N         capture workers (default: one per physical core)\n"
		"      --no-pin            do not pin workers to cores\n"
		"      --no-dpi            flow accounting only, no protocol inspection\n"
		"      --dpi-budget N      payload packets inspected per flow (default 32)\n"
		"      --max-flows N       flows per worker before eviction (default 1048576)\n"
		"      --timeout-tcp SEC   idle timeout of TCP flows (default 300)\n"
		"      --timeout-tcp-closed SEC  after FIN both ways or RST (default 10)\n"
		"      --timeout-udp SEC   idle timeout of UDP flows (default 60)\n"
		"      --timeout-other SEC idle timeout of other flows (default 30)\n"
		"      --profile           sample per-stage cycle counts into the stats\n"
		"\n"
		"Output and run control:\n"
		"      --json              JSON lines on stdout (flows, DPI events, stats)\n"
		"      --json-file PATH    JSON lines into PATH (implies --json)\n"
		"      --stats-interval S  also write stats every S seconds (JSON)\n"
		"      --duration SEC      stop after SEC seconds\n"
		"  -c, --count N           stop after N packets\n"
		"  -q, --quiet             no summary, errors only\n"
		"  -v, --verbose           more messages on stderr\n"
		"  -h, --help              this text\n"
		"      --version           print the version\n");
}

enum {
	OPT_BACKEND = 256,
	OPT_BLOCK_SIZE,
	OPT_BLOCK_COUNT,
	OPT_BLOCK_TIMEOUT,
	OPT_NO_PIN,
	OPT_NO_DPI,
	OPT_DPI_BUDGET,
	OPT_MAX_FLOWS,
	OPT_TO_TCP,
	OPT_TO_TCP_CLOSED,
	OPT_TO_UDP,
	OPT_TO_OTHER,
	OPT_PROFILE,
	OPT_JSON,
	OPT_JSON_FILE,
	OPT_STATS_INTERVAL,
	OPT_DURATION,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{"interface", required_argument, NULL, 'i'},
	{"read", required_argument, NULL, 'r'},
	{"backend", required_argument, NULL, OPT_BACKEND},
	{"filter", required_argument, NULL, 'f'},
	{"snaplen", required_argument, NULL, 's'},
	{"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
	{"block-count", required_argument, NULL, OPT_BLOCK_COUNT},
	{"block-timeout", required_argument, NULL, OPT_BLOCK_TIMEOUT},
	{"workers", required_argument, NULL, 'W'},
	{"no-pin", no_argument, NULL, OPT_NO_PIN},
	{"no-dpi", no_argument, NULL, OPT_NO_DPI},
	{"dpi-budget", required_argument, NULL, OPT_DPI_BUDGET},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"timeout-tcp", required_argument, NULL, OPT_TO_TCP},
	{"timeout-tcp-closed", required_argument, NULL, OPT_TO_TCP_CLOSED},
	{"timeout-udp", required_argument, NULL, OPT_TO_UDP},
	{"timeout-other", required_argument, NULL, OPT_TO_OTHER},
	{"profile", no_argument, NULL, OPT_PROFILE},
	{"json", no_argument, NULL, OPT_JSON},
	{"json-file", required_argument, NULL, OPT_JSON_FILE},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"count", required_argument, NULL, 'c'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* Parses an unsigned integer option in [lo, hi]; exits with a message naming
 * the option and the bad value otherwise. */
static uint64_t parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		goto bad;
	return v;
bad:
	fprintf(stderr, "procsniff: error: %s: bad value \"%s\" (expected %llu..%llu)\n", opt,
		s ? s : "", (unsigned long long)lo, (unsigned long long)hi);
	exit(2);
}

static double parse_seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 1e9) {
		fprintf(stderr, "procsniff: error: %s: bad value \"%s\" (expected seconds > 0)\n",
			opt, s);
		exit(2);
	}
	return v;
}

/* The interface of the IPv4 default route, else libpcap's first device that
 * is up and not loopback. */
static char *default_interface(void)
{
	char line[512], name[64];
	unsigned long dest, flags;
	FILE *f = fopen("/proc/net/route", "r");

	if (f) {
		if (fgets(line, sizeof(line), f)) {
			while (fgets(line, sizeof(line), f)) {
				if (sscanf(line, "%63s %lx %*x %lx", name, &dest, &flags) == 3 &&
					dest == 0 && (flags & 1)) {
					fclose(f);
					return strdup(name);
				}
			}
		}
		fclose(f);
	}
	pcap_if_t *devs = NULL, *d;
	char errbuf[PCAP_ERRBUF_SIZE];
	char *pick = NULL;
	if (pcap_findalldevs(&devs, errbuf) == 0) {
		for (d = devs; d && !pick; d = d->next)
			if (!(d->flags & PCAP_IF_LOOPBACK) && (d->flags & PCAP_IF_UP) &&
				strcmp(d->name, "any"))
				pick = strdup(d->name);
		pcap_freealldevs(devs);
	}
	return pick;
}

int main(int argc, char **argv)
{
	struct eng_config cfg;
	char *auto_iface = NULL;
	int c, err;

	eng_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "i:r:f:s:W:c:qvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			cfg.ring.iface = optarg;
			break;
		case 'r':
			cfg.ring.path = optarg;
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "tpacket")) {
				cfg.ring.backend = RING_BACKEND_TPACKET;
			} else if (!strcmp(optarg, "pcap")) {
				cfg.ring.backend = RING_BACKEND_PCAP;
			} else {
				fprintf(stderr,
					"procsniff: error: --backend: unknown backend \"%s\" "
					"(tpacket or pcap)\n",
					optarg);
				return 2;
			}
			break;
		case 'f':
			cfg.ring.filter = optarg;
			break;
		case 's':
			cfg.ring.snaplen = (uint32_t)parse_u64("--snaplen", optarg, 64, 262144);
			break;
		case OPT_BLOCK_SIZE:
			cfg.ring.block_size =
				(uint32_t)parse_u64("--block-size", optarg, 131072, 1u << 30);
			break;
		case OPT_BLOCK_COUNT:
			cfg.ring.block_count = (uint32_t)parse_u64("--block-count", optarg, 2, 65536);
			break;
		case OPT_BLOCK_TIMEOUT:
			cfg.ring.block_timeout =
				(uint32_t)parse_u64("--block-timeout", optarg, 1, 10000);
			break;
		case 'W':
			cfg.workers = (unsigned)parse_u64("--workers", optarg, 1, 256);
			break;
		case OPT_NO_PIN:
			cfg.pin = false;
			break;
		case OPT_NO_DPI:
			cfg.dpi = false;
			break;
		case OPT_DPI_BUDGET:
			cfg.dpi_budget = (unsigned)parse_u64("--dpi-budget", optarg, 1, 1000000);
			break;
		case OPT_MAX_FLOWS:
			cfg.max_flows = (uint32_t)parse_u64("--max-flows", optarg, 1, 1u << 30);
			break;
		case OPT_TO_TCP:
			cfg.timeout_tcp = (uint32_t)parse_u64("--timeout-tcp", optarg, 1, 86400);
			break;
		case OPT_TO_TCP_CLOSED:
			cfg.timeout_tcp_closed =
				(uint32_t)parse_u64("--timeout-tcp-closed", optarg, 1, 86400);
			break;
		case OPT_TO_UDP:
			cfg.timeout_udp = (uint32_t)parse_u64("--timeout-udp", optarg, 1, 86400);
			break;
		case OPT_TO_OTHER:
			cfg.timeout_other = (uint32_t)parse_u64("--timeout-other", optarg, 1, 86400);
			break;
		case OPT_PROFILE:
			cfg.profile = true;
			break;
		case OPT_JSON:
			cfg.json = true;
			break;
		case OPT_JSON_FILE:
			cfg.json = true;
			cfg.json_path = optarg;
			break;
		case OPT_STATS_INTERVAL:
			cfg.stats_interval = parse_seconds("--stats-interval", optarg);
			break;
		case OPT_DURATION:
			cfg.duration = parse_seconds("--duration", optarg);
			break;
		case 'c':
			cfg.count = parse_u64("--count", optarg, 1, UINT64_MAX);
			break;
		case 'q':
			cfg.quiet = true;
			verbosity = 0;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("procsniff 0.1.0\n");
			return 0;
		default:
			fprintf(stderr, "usage: procsniff [-i IFACE | -r FILE] [options]; see --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "procsniff: error: unexpected argument \"%s\"; see --help\n",
			argv[optind]);
		return 2;
	}
	if (cfg.ring.iface && cfg.ring.path) {
		fprintf(stderr, "procsniff: error: -i and -r cannot be used together\n");
		return 2;
	}
	if (cfg.ring.path) {
		cfg.ring.backend = RING_BACKEND_FILE;
	} else if (!cfg.ring.iface) {
		auto_iface = default_interface();
		if (!auto_iface) {
			fprintf(stderr, "procsniff: error: no interface found to capture on; "
					"name one with -i\n");
			return 1;
		}
		cfg.ring.iface = auto_iface;
		if (!cfg.json && !cfg.quiet)
			fprintf(stderr, "procsniff: capturing on %s\n", auto_iface);
	}

	eng_set_log(log_stderr);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = eng_run(&cfg);
	free(auto_iface);
	/* The engine has already said what went wrong. */
	return err ? 1 : 0;
	return 0;
}
