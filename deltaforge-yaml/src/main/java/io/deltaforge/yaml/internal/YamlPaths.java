package io.deltaforge.yaml.internal;

import java.util.HashMap;
import java.util.Map;

/** Dotted paths such as {@code spec.sinks[0].config.url}, and the index from paths to locations. */
final class YamlPaths {
    private YamlPaths() {
    }

    static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    static String item(String path, int index) {
        return path + "[" + index + "]";
    }

    /** The enclosing path; empty for a top-level key and for the root. */
    static String parent(String path) {
        int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return cut < 0 ? "" : path.substring(0, cut);
    }

    /** The last key of a path ({@code url} for {@code spec.sinks[0].config.url}), or "" when it ends in an index. */
    static String lastKey(String path) {
        if (path.endsWith("]")) {
            return "";
        }
        return path.substring(path.lastIndexOf('.') + 1);
    }

    /** Where each path of a document was written: a key's location for map entries, the item's for lists. */
    static Map<String, Location> index(Node root) {
        Map<String, Location> index = new HashMap<>();
        index.put("", root.location());
        walk(root, "", index);
        return index;
    }

    private static void walk(Node node, String path, Map<String, Location> index) {
        if (node instanceof Node.MapNode map) {
            map.entries().forEach((key, value) -> {
                String p = child(path, key);
                index.put(p, map.keyLocations().getOrDefault(key, value.location()));
                walk(value, p, index);
            });
        } else if (node instanceof Node.ListNode list) {
            for (int i = 0; i < list.items().size(); i++) {
                String p = item(path, i);
                index.put(p, list.items().get(i).location());
                walk(list.items().get(i), p, index);
            }
        }
    }

    /** The location of a path, or of its nearest written ancestor (a missing key points at its section). */
    static Location locate(Map<String, Location> index, String path) {
        String p = path;
        while (true) {
            Location l = index.get(p);
            if (l != null) {
                return l;
            }
            if (p.isEmpty()) {
                return Location.UNKNOWN;
            }
            p = parent(p);
        }
    }
}
