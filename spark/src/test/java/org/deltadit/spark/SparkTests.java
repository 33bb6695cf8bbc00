package org.deltadit.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.deltadit.cli.MainTest;

/** What the Spark tests share: one local session for the whole test JVM (starting one takes seconds), and runs of the command line. */
final class SparkTests {
    private SparkTests() {}

    /** Two task threads, and two attempts per task (the fault test's retry). */
    static final String MASTER = "local[2,2]";
    static final Path DEMO = Path.of("../models/demo");

    private static SparkSession session;

    /** The shared session; commands given --master MASTER use it and leave it running. */
    static synchronized SparkSession session() {
        if (session == null) {
            session = SparkSession.builder().master(MASTER).appName("dit-spark tests").config("spark.ui.enabled", "false")
                    .config("spark.ui.showConsoleProgress", "false").getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
        }
        return session;
    }

    static MainTest.Run run(String... args) {
        return MainTest.capture(DitSpark::execute, args);
    }

    /** The cli tests' tiny random 1×32×32 DiT, with the demo model's digit classifier beside it. */
    static Path tinyDigitModel(Path dir) throws IOException {
        Path model = org.deltadit.cli.CompareTest.tinyDigitModel(Files.createDirectories(dir.resolve("tiny")));
        for (String f : new String[] {"classifier.safetensors", "fid_stats.safetensors"}) Files.copy(DEMO.resolve(f), model.resolve(f));
        return model;
    }
}
