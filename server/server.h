/* server.h - mnemod's lifecycle: open the data dir, serve, shut down.
 *
 * DESIGN: one mnemo_server_t owns the store, the domain modules, the gRPC
 * server, one shared completion queue and the threads polling it. Start
 * registers every method of the rpc_* tables (path from the protoc-c
 * descriptors) plus a generic request that answers unknown methods with
 * UNIMPLEMENTED at once; --health-listen adds a plaintext listener that
 * serves health alone. SIGTERM runs one fixed, tested order: drain
 * (health NOT_SERVING, everything still served), --drain-delay later
 * stop: health Watch streams ended; shutdown_and_notify (GOAWAY) on both
 * listeners; syncs cancelled at a batch boundary and their threads
 * joined (a foreground sync's stream ends UNAVAILABLE: resumable); the
 * calls in flight get the grace period, then what is left is cancelled;
 * destroy the servers; shut the CQ down and join its threads; close the
 * domain and the store.
 *
 * Threads: start and stop from one thread (main); everything else happens
 * on the CQ threads.
 */
#ifndef MNEMO_SERVER_H
#define MNEMO_SERVER_H

#include "config.h"
#include "mnemo/status.h"

typedef struct mnemo_server mnemo_server_t;

/* Opens cfg->data_dir, binds cfg->listen and starts serving; cfg must
 * outlive the server. MNEMO_EUNAVAIL when the data dir is in use or the
 * address cannot be bound (the message says which), MNEMO_EIO or
 * MNEMO_ECORRUPT when the store cannot be opened. gRPC must be initialised
 * by the caller (grpc_init) after blocking the signals it handles. */
mnemo_status_t mnemo_server_start(mnemo_server_t **out, const mnemo_config_t *cfg,
                                  mnemo_err_t *err);

/* SIGHUP: re-reads the token and client role files (and, with TLS, the
 * certificate, key and client CA). New calls and handshakes use what was
 * read; calls in flight go on. A file that does not read or parse keeps
 * the previous credentials; each outcome is logged (never a secret).
 * Main thread, while serving. */
void mnemo_server_reload(mnemo_server_t *srv);

/* The port actually bound (the one picked when cfg->listen asked for 0). */
int mnemo_server_port(const mnemo_server_t *srv);

/* The port --health-listen bound; 0 when it is not set. */
int mnemo_server_health_port(const mnemo_server_t *srv);

/* SIGTERM's first step: every service reads NOT_SERVING from now on, on
 * both listeners (Check, and Watch streams hear it), while calls are still
 * accepted and served, so proxies and load balancers take the replica out
 * before it refuses anything. Main thread; mnemo_server_stop follows. */
void mnemo_server_drain(mnemo_server_t *srv);

/* Shuts down in the fixed order and frees everything. NULL: no-op. */
void mnemo_server_stop(mnemo_server_t *srv);

#endif
