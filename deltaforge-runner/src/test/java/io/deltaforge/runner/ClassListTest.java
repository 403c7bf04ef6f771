package io.deltaforge.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The launchers' class-data-sharing archive is made from {@code src/dist/lib/deltaforge.classlist}. A class of
 * ours renamed or removed since the list was made would only be left out of the archive, silently: this names
 * it, so the list is made again (docs/performance.md, "JVM options").
 */
class ClassListTest {
    @Test
    void everyDeltaforgeClassTheListNamesExists() throws Exception {
        List<String> ours = Files.readAllLines(Path.of("src/dist/lib/deltaforge.classlist")).stream()
                .filter(line -> line.startsWith("io/deltaforge/"))
                .map(line -> line.split(" ")[0].replace('/', '.'))
                .toList();
        assertThat(ours).hasSizeGreaterThan(100);
        ClassLoader loader = getClass().getClassLoader();
        assertThat(ours).allSatisfy(name -> assertThat(exists(name, loader)).as(name).isTrue());
    }

    private static boolean exists(String name, ClassLoader loader) {
        try {
            Class.forName(name, false, loader);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
