/* engine/cpu: where the workers run.
 *
 * hwloc describes the machine: one worker per physical core by default, each
 * pinned to the first hardware thread of its core, cores of the capture
 * interface's NUMA node first (read from sysfs) so ring memory and packet
 * processing stay local. Pinning uses the OS CPU index hwloc reports.
 */
#include <errno.h>
#include <hwloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"

static int iface_numa_node(const char *iface)
{
	char path[256];
	int node = -1;
	FILE *f;

	if (!iface)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", iface);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &node) != 1)
		node = -1;
	fclose(f);
	return node;
}

unsigned eng_cpu_cores(void)
{
	hwloc_topology_t topo;
	int n;

	if (hwloc_topology_init(&topo) < 0)
		return 1;
	if (hwloc_topology_load(topo) < 0) {
		hwloc_topology_destroy(topo);
		return 1;
	}
	n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	if (n <= 0)
		n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	hwloc_topology_destroy(topo);
	return n > 0 ? (unsigned)n : 1;
}

int eng_cpu_plan(unsigned n, const char *iface, int *cpus)
{
	hwloc_topology_t topo;
	int ncores, node = iface_numa_node(iface), k = 0;
	int *order;

	for (unsigned i = 0; i < n; i++)
		cpus[i] = -1;
	if (hwloc_topology_init(&topo) < 0)
		return -ENOMEM;
	if (hwloc_topology_load(topo) < 0) {
		hwloc_topology_destroy(topo);
		return -EIO;
	}
	ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	hwloc_obj_type_t type = HWLOC_OBJ_CORE;
	if (ncores <= 0) {
		type = HWLOC_OBJ_PU;
		ncores = hwloc_get_nbobjs_by_type(topo, type);
	}
	order = calloc((size_t)(ncores > 0 ? ncores : 1), sizeof(int));
	if (!order || ncores <= 0) {
		free(order);
		hwloc_topology_destroy(topo);
		return -ENOENT;
	}
	/* Cores on the interface's node first, then the rest. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < ncores; i++) {
			hwloc_obj_t core = hwloc_get_obj_by_type(topo, type, (unsigned)i);
			bool local = node < 0 || !core->nodeset ||
				hwloc_bitmap_isset(core->nodeset, (unsigned)node);
			if (local != (pass == 0))
				continue;
			hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset,
				HWLOC_OBJ_PU, 0);
			order[k++] = pu ? (int)pu->os_index : -1;
		}
	}
	for (unsigned i = 0; i < n; i++)
		cpus[i] = order[i % (unsigned)k];
	free(order);
	hwloc_topology_destroy(topo);
	return 0;
}

int eng_cpu_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		eng_log(1, "engine: cannot pin to CPU %d: %m", cpu);
		return -errno;
	}
	return 0;
}
