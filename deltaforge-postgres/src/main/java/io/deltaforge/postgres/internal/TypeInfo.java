package io.deltaforge.postgres.internal;

import java.util.List;
import java.util.Objects;

/**
 * What {@link TypeMapper} needs to know about a type that is not built in (OID 16384 and up: enums,
 * domains, composites, ranges, arrays of them, extension types such as hstore). {@link TypeCatalog} reads it
 * from {@code pg_type}; tests build it directly.
 *
 * <pre>{@code new TypeInfo(16390, "public", "mood", 'e', 0, ',', 0, List.of(), List.of()) // an enum }</pre>
 *
 * @param oid         the type's OID
 * @param schema      its schema, e.g. {@code public}
 * @param name        its name, e.g. {@code hstore}; extension types are recognised by name
 * @param kind        {@code pg_type.typtype}: {@code b} base (and arrays), {@code c} composite, {@code d}
 *                    domain, {@code e} enum, {@code r} range, {@code m} multirange, {@code p} pseudo
 * @param elementOid  for an array, the element type; 0 otherwise
 * @param delimiter   for an array, the element delimiter ({@code typdelim} of the element type, {@code ,}
 *                    for almost all, {@code ;} for box)
 * @param baseOid     for a domain, the base type; for a range or multirange, the bound (sub)type; 0
 *                    otherwise
 * @param fieldNames  for a composite, its live attribute names in order; empty otherwise
 * @param fieldTypes  for a composite, the attribute type OIDs, same order
 * @param labels      for an enum, its labels in sort order; empty otherwise
 */
record TypeInfo(int oid, String schema, String name, char kind, int elementOid, char delimiter, int baseOid,
                List<String> fieldNames, List<Integer> fieldTypes, List<String> labels) {
    TypeInfo {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(name, "name");
        fieldNames = List.copyOf(fieldNames);
        fieldTypes = List.copyOf(fieldTypes);
        labels = List.copyOf(labels);
        if (fieldNames.size() != fieldTypes.size()) {
            throw new IllegalArgumentException("fieldNames and fieldTypes differ in length");
        }
    }

    TypeInfo(int oid, String schema, String name, char kind, int elementOid, char delimiter, int baseOid,
             List<String> fieldNames, List<Integer> fieldTypes) {
        this(oid, schema, name, kind, elementOid, delimiter, baseOid, fieldNames, fieldTypes, List.of());
    }

    static TypeInfo enumType(int oid, String name) {
        return new TypeInfo(oid, "public", name, 'e', 0, ',', 0, List.of(), List.of());
    }

    static TypeInfo domain(int oid, String name, int baseOid) {
        return new TypeInfo(oid, "public", name, 'd', 0, ',', baseOid, List.of(), List.of());
    }

    static TypeInfo array(int oid, String name, int elementOid, char delimiter) {
        return new TypeInfo(oid, "public", name, 'b', elementOid, delimiter, 0, List.of(), List.of());
    }

    static TypeInfo composite(int oid, String name, List<String> fieldNames, List<Integer> fieldTypes) {
        return new TypeInfo(oid, "public", name, 'c', 0, ',', 0, fieldNames, fieldTypes);
    }

    static TypeInfo range(int oid, String name, char kind, int subtypeOid) {
        return new TypeInfo(oid, "public", name, kind, 0, ',', subtypeOid, List.of(), List.of());
    }

    static TypeInfo base(int oid, String name) {
        return new TypeInfo(oid, "public", name, 'b', 0, ',', 0, List.of(), List.of());
    }
}
