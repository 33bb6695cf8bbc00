package org.deltadit.spark;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.SparkSession;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.SafetensorsWriter;

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

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int status = DitSpark.execute(args);
            return new Run(status, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** A tiny random 1×32×32 class-conditional DiT (4 blocks) with the demo model's digit classifier beside it. */
    static Path tinyDigitModel(Path dir) throws IOException {
        Path model = Files.createDirectories(dir.resolve("tiny"));
        DitConfig c = new DitConfig(32, 4, 1, 16, 4, 2, 10, true, 64, CheckpointFormat.DIT_OFFICIAL, Map.of());
        Map<String, Tensor> w = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(5);
        for (Map.Entry<String, int[]> e : c.expectedShapes().entrySet()) {
            float[] v = new float[(int) Tensor.zeros(e.getValue()).numel()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.1);
            w.put(e.getKey(), Tensor.of(v, e.getValue()));
        }
        SafetensorsWriter.write(model.resolve("dit.safetensors"), w, null);
        Files.writeString(model.resolve("config.json"), "{\"input_size\": 32, \"num_heads\": 2}");
        for (String f : new String[] {"classifier.safetensors", "fid_stats.safetensors"}) Files.copy(DEMO.resolve(f), model.resolve(f));
        return model;
    }
}
