package io.deltaforge.runner.faults;

/**
 * One source change as the tests identify it: the table, the primary key and the per-row version the
 * load writes (inserts write 1, each update adds 1, a delete carries the last version), plus the op,
 * since a delete repeats the version of the row's last change.
 */
record Change(String table, int id, int version, String op) {
    @Override
    public String toString() {
        return table + "#" + id + "v" + version + op;
    }
}
