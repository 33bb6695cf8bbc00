package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A standalone cluster on loopback, started by spark/local-cluster.sh as the README says: a Master and a
 * Worker in their own JVMs, executors launched by the Worker. The driver is a JVM of its own too (this
 * JVM already holds the tests' local session); executors take the test classpath, where a real cluster
 * takes dit-spark.jar from spark.jars. Both stop at the end.
 */
class ClusterTest {
    @TempDir Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void generateOnAStandaloneClusterMakesTheSameImages() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path cluster = dir.resolve("cluster"), out = dir.resolve("out");
        try {
            Result started = exec(List.of("bash", "local-cluster.sh", "start", "--cores", "2", "--memory", "2g", "--port", String.valueOf(port)), cluster, 120);
            assertEquals(0, started.status(), started.output());
            String master = "spark://127.0.0.1:" + port;
            assertEquals(master, started.output().lines().reduce((a, b) -> b).orElse("").strip(), started.output());

            String cp = System.getProperty("java.class.path");
            List<String> driver = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g"));
            driver.addAll(sparkJvmOptions());
            driver.addAll(List.of("-Dlog4j2.configurationFile=conf/log4j2.properties", "-cp", cp, DitSpark.class.getName(),
                    "generate", "--master", master, "--model", SparkTests.DEMO.toString(), "--class", "0-3", "--seed", "7", "--steps", "2",
                    "--partitions", "2", "--threads", "1", "--out", out.toString(),
                    "--conf", "spark.executor.extraClassPath=" + cp, "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g"));
            Result run = exec(driver, cluster, 240);
            assertEquals(0, run.status(), run.output());
            assertTrue(run.output().contains("dit-spark: 4 images in "), run.output());
            List<byte[]> want = GenerateJobTest.singleMachine(4);
            assertEquals(List.of("00000.png", "00001.png", "00002.png", "00003.png"), GenerateJobTest.files(out));
            for (int i = 0; i < 4; i++) assertArrayEquals(want.get(i), Files.readAllBytes(out.resolve(String.format("%05d.png", i))), "image " + i);
            // the executors were JVMs of the Worker's, not threads of the driver
            try (var apps = Files.list(cluster.resolve("work"))) {
                assertTrue(apps.anyMatch(a -> Files.exists(a.resolve("0").resolve("stderr"))), "no executor folder under " + cluster.resolve("work"));
            }
        } finally {
            exec(List.of("bash", "local-cluster.sh", "stop"), cluster, 30);
        }
    }

    record Result(int status, String output) {}

    /** Runs a command in spark/ with the cluster folder set; output and errors together. */
    static Result exec(List<String> cmd, Path cluster, int seconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("dit-cluster", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(Path.of("").toAbsolutePath().toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DIT_CLUSTER_DIR", cluster.toString());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            return new Result(-1, "timed out after " + seconds + " s: " + Files.readString(log));
        }
        String text = Files.readString(log);
        Files.deleteIfExists(log);
        return new Result(p.exitValue(), text);
    }

    static List<String> sparkJvmOptions() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        return List.of(pom.substring(pom.indexOf("<spark.jvm.options>") + 19, pom.indexOf("</spark.jvm.options>")).trim().split("\\s+"));
    }
}
