/* store — the SQLite database that holds hearth's durable state: keys,
 * usage, jobs, files, documents. One file in WAL mode under the data
 * directory; versioned migrations run once at start.
 *
 * Threads: each thread that needs the database opens its own connection
 * (store_conn); a connection is never shared. I/O-loop threads must not open
 * one: they hand database work to other threads (store_conn_open asserts). */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include "../base/base.h"

#include <sqlite3.h>

typedef struct store store;
typedef struct store_conn store_conn;

/* Creates dir if needed, opens dir/hearth.db, sets WAL, and applies every
 * migration not yet applied, each in its own transaction. err gets a
 * message with context on failure. */
int store_open(const char *dir, store **out, char *err, size_t err_len);
void store_close(store *s);
const char *store_path(const store *s);
/* The schema version after migrations (the highest applied). */
int store_schema_version(const store *s);

/* A new connection for the calling thread; busy timeout set, foreign keys on. */
int store_conn_open(store *s, store_conn **out);
void store_conn_close(store_conn *c);
sqlite3 *store_conn_db(store_conn *c);

/* Marks the calling thread as an I/O loop: store_conn_open then refuses. */
void store_forbid_this_thread(void);

#endif
