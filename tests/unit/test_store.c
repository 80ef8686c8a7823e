/* Unit tests for src/store: migrations, WAL, the data-directory lock. */
#include "../../src/store/store.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void fresh_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/hearth-store-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}

TEST(opens_and_migrates) {
  fresh_dir();
  store *s;
  char err[256] = "";
  CHECK_EQ_INT(store_open(dir, &s, err, sizeof err), 0);
  CHECK(store_schema_version(s) >= 1);
  store_conn *c;
  CHECK_EQ_INT(store_conn_open(s, &c), 0);
  sqlite3_stmt *st;
  CHECK(sqlite3_prepare_v2(store_conn_db(c), "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  CHECK(sqlite3_prepare_v2(store_conn_db(c), "SELECT count(*) FROM schema_migrations", -1, &st,
                           NULL) == SQLITE_OK);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  int applied = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  CHECK_EQ_INT(applied, store_schema_version(s));
  store_conn_close(c);
  store_close(s);
  /* Opening again applies nothing new and keeps the version. */
  CHECK_EQ_INT(store_open(dir, &s, err, sizeof err), 0);
  CHECK_EQ_INT(store_schema_version(s), applied);
  store_close(s);
  remove_dir();
}

TEST(second_open_of_a_directory_is_refused) {
  fresh_dir();
  store *a, *b;
  char err[256] = "";
  CHECK_EQ_INT(store_open(dir, &a, err, sizeof err), 0);
  /* flock is per open file description: a second open in the same process
   * conflicts just as another process would. */
  CHECK_EQ_INT(store_open(dir, &b, err, sizeof err), HR_EBUSY);
  CHECK(strstr(err, "locked by another hearth") != NULL);
  store_close(a);
  CHECK_EQ_INT(store_open(dir, &b, err, sizeof err), 0);
  store_close(b);
  remove_dir();
}

TEST(newer_schema_is_refused) {
  fresh_dir();
  store *s;
  char err[256] = "";
  CHECK_EQ_INT(store_open(dir, &s, err, sizeof err), 0);
  store_conn *c;
  CHECK_EQ_INT(store_conn_open(s, &c), 0);
  CHECK(sqlite3_exec(store_conn_db(c),
                     "INSERT INTO schema_migrations VALUES (9999, 'future', 0)", NULL, NULL,
                     NULL) == SQLITE_OK);
  store_conn_close(c);
  store_close(s);
  CHECK_EQ_INT(store_open(dir, &s, err, sizeof err), HR_EUNSUPPORTED);
  CHECK(strstr(err, "newer than this hearth knows") != NULL);
  remove_dir();
}

TEST(unwritable_directory_is_a_clear_error) {
  store *s;
  char err[256] = "";
  CHECK(store_open("/proc/hearth-cannot-exist", &s, err, sizeof err) != 0);
  CHECK(strstr(err, "/proc/hearth-cannot-exist") != NULL);
}

int main(void) {
  RUN(opens_and_migrates);
  RUN(second_open_of_a_directory_is_refused);
  RUN(newer_schema_is_refused);
  RUN(unwritable_directory_is_a_clear_error);
  return test_report("store");
}
