package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

/**
 * The JVM options the dit-spark launcher and these tests give the driver (spark.jvm.options in
 * spark/pom.xml) hold every module option Spark's own launcher would give it — so a Spark upgrade that
 * needs one more fails here, not on a user's machine. Packages this JDK no longer has are left out.
 */
class SparkJvmOptionsTest {
    @Test
    void ourListHoldsSparksModuleOptions() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        String list = pom.substring(pom.indexOf("<spark.jvm.options>") + 19, pom.indexOf("</spark.jvm.options>"));
        Set<String> ours = new java.util.HashSet<>(Set.of(list.trim().split("\\s+")));
        String launcher = Files.readString(Path.of("../dit-spark")), argLine = pom.substring(pom.indexOf("<argLine>"), pom.indexOf("</argLine>"));
        for (String given : new String[] {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"}) { // given beside the list
            if (launcher.contains(given) && (argLine.contains(given) || argLine.contains("${vector.module}") && given.startsWith("--add-modules"))) ours.add(given);
        }
        Set<String> javaBase = ModuleLayer.boot().findModule("java.base").orElseThrow().getPackages();
        List<String> missing = new ArrayList<>();
        for (String o : JavaModuleOptions.defaultModuleOptionArray()) {
            if (o.startsWith("--add-opens=java.base/") && !javaBase.contains(o.substring(22, o.indexOf('=', 22)))) continue; // gone from this JDK
            if (!ours.contains(o)) missing.add(o);
        }
        assertTrue(missing.isEmpty(), "spark.jvm.options lacks " + missing);
    }
}
