package io.deltaforge.postgres.internal;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import org.junit.jupiter.api.Test;

/**
 * The classes of the postgres module call each other in one direction only: no top-level class reaches
 * itself again through others. The public package is part of the check, so that an internal class that
 * calls back into {@code PostgresSource} fails it too; the public classes may use the internal ones.
 */
class ClassCyclesTest {
    private static final String MODULE = "io.deltaforge.postgres";

    @Test
    void topLevelClassesFormNoCycle() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(new ImportOption.DoNotIncludeTests())
                .importPackages(MODULE);
        slices().assignedFrom(ONE_SLICE_PER_TOP_LEVEL_CLASS).should().beFreeOfCycles().check(classes);
    }

    /** Nested, inner and anonymous classes count as part of the class that encloses them. */
    private static final SliceAssignment ONE_SLICE_PER_TOP_LEVEL_CLASS = new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String pkg = javaClass.getPackageName();
            if (!pkg.equals(MODULE) && !pkg.equals(MODULE + ".internal")) {
                return SliceIdentifier.ignore();
            }
            String name = javaClass.getName();
            int nested = name.indexOf('$');
            return SliceIdentifier.of(nested < 0 ? name : name.substring(0, nested));
        }

        @Override
        public String getDescription() {
            return "one slice per top-level class of " + MODULE + " and " + MODULE + ".internal";
        }
    };
}
