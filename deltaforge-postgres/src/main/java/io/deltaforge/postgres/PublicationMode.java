package io.deltaforge.postgres;

/**
 * Who owns the publication a {@link PostgresSource} reads.
 *
 * <ul>
 *   <li>{@link #EXISTING} (default): the publication must exist and contain every table listed in
 *       {@code tables}; start fails naming each missing one and the {@code ALTER PUBLICATION} to run.</li>
 *   <li>{@link #AUTOCREATE}: start creates the publication for exactly the listed tables (patterns resolved
 *       at that moment), or adds the missing ones to an existing publication. Needs {@code tables}, and a
 *       user allowed to do so (owner of the tables, CREATE on the database). Tables never get removed.</li>
 * </ul>
 *
 * <pre>{@code PostgresSource.builder().publicationMode(PublicationMode.AUTOCREATE)}</pre>
 * <p>YAML: {@code publication_mode: existing | autocreate}.
 */
public enum PublicationMode {
    EXISTING,
    AUTOCREATE;

    /** Parses {@code existing} / {@code autocreate}, ignoring case; IllegalArgumentException otherwise. */
    public static PublicationMode parse(String text) {
        for (PublicationMode m : values()) {
            if (m.name().equalsIgnoreCase(text.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a publication mode; expected existing or "
                + "autocreate");
    }
}
