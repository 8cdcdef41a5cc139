/* replicas_run.c: what check --replicas and repair share: running the
 * comparison of the stores and printing its per-store table. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static json_t *result_json(const struct replicas_result *res)
{
	json_t *stores = json_array();
	for (size_t i = 0; stores && i < res->stores; i++) {
		const struct replicas_store *s = &res->per_store[i];
		json_array_append_new(
			stores,
			json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
				  "location", s->location,
				  "read", jout_u64(s->read),
				  "missing", jout_u64(s->missing),
				  "corrupt", jout_u64(s->corrupt),
				  "unreadable", jout_u64(s->unreadable),
				  "repaired", jout_u64(s->repaired)));
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "message_type", "replicas",
			 "objects", jout_u64(res->objects),
			 "missing", jout_u64(res->missing),
			 "corrupt", jout_u64(res->corrupt),
			 "unreadable", jout_u64(res->unreadable),
			 "repaired", jout_u64(res->repaired),
			 "unrepairable", jout_u64(res->unrepairable),
			 "stores", stores);
}

static void result_text(const struct replicas_result *res, int repair)
{
	int w = 5; /* "store" */
	for (size_t i = 0; i < res->stores; i++) {
		size_t l = strlen(res->per_store[i].location);
		if ((int)l > w)
			w = l > 200 ? 200 : (int)l;
	}
	fprintf(stderr, "%-*s %8s %8s %8s %10s", w, "store", "read", "missing",
		"corrupt", "unreadable");
	if (repair)
		fprintf(stderr, " %8s", "repaired");
	fputc('\n', stderr);
	for (size_t i = 0; i < res->stores; i++) {
		const struct replicas_store *s = &res->per_store[i];
		fprintf(stderr, "%-*s %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			" %10" PRIu64, w, s->location, s->read, s->missing,
			s->corrupt, s->unreadable);
		if (repair)
			fprintf(stderr, " %8" PRIu64, s->repaired);
		fputc('\n', stderr);
	}
	fprintf(stderr, "%" PRIu64 " objects on %zu stores\n", res->objects,
		res->stores);
}

int cli_replicas_run(struct cli *c, struct repo *r, int read_data,
		     int repair, int *clean)
{
	struct replicas_opts o;
	struct replicas_result *res = calloc(1, sizeof *res);
	struct render rd;
	int rc, ex = CLI_EXIT_OK;
	if (!res)
		return cli_fail(c, CAIRN_E_NOMEM, "replicas");
	memset(&o, 0, sizeof o);
	o.read_data = read_data;
	o.repair = repair;
	o.on_event = render_event;
	o.event_ud = &rd;
	o.interrupt = &cli_interrupted;
	render_init(&rd, c, 0);
	rc = repo_replicas_check(r, &o, res);
	render_done(&rd);
	if (rc < 0 && rc != CAIRN_E_CORRUPT) {
		ex = cli_fail(c, rc, repair ? "repair" : "compare the stores");
		goto out;
	}
	if (c->json) {
		rc = jout_print(result_json(res), stdout);
		if (rc < 0) {
			ex = cli_fail(c, rc, "print summary");
			goto out;
		}
	} else if (!c->quiet) {
		result_text(res, repair);
	}
	*clean = res->unrepairable == 0 && res->unreadable == 0 &&
		 (repair || (res->missing == 0 && res->corrupt == 0));
out:
	free(res);
	return ex;
}
