/*
 * embedded.h - the cluster files compiled into the lyceum binary.
 *
 * lyc_cli_default_cluster is deploy/lyceum.yaml (what `lyceum up` and
 * `lyceum demo` run without -c); lyc_cli_bench_cluster is
 * services/cli/bench.yaml (what `lyceum bench overhead` runs). The build
 * generates embedded.c from those files, so they stay the one source of truth.
 */
#ifndef LYCEUM_CLI_EMBEDDED_H
#define LYCEUM_CLI_EMBEDDED_H

extern const char lyc_cli_default_cluster[];
extern const char lyc_cli_bench_cluster[];

#endif
