package io.deltaforge.yaml.internal;

/** A 1-based position in a YAML text; line 0 when unknown. */
record Location(int line, int column) {
    static final Location UNKNOWN = new Location(0, 0);

    boolean known() {
        return line > 0;
    }
}
