package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.deltadit.cli.MainTest;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Image;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit-spark generate in local mode on the demo model: the single machine's images, exactly once, even after a failed attempt. */
class GenerateJobTest {
    @TempDir Path dir;

    @BeforeAll
    static void start() { SparkTests.session(); }

    /** The images of `dit generate --class 0,1,…,n−1 --seed 7 --steps 2` on one machine, as PNG bytes. */
    static List<byte[]> singleMachine(int n) {
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(SparkTests.DEMO).threads(2).build())) {
            GenerationResult g = p.generate(GenerationRequest.builder().classes(java.util.stream.IntStream.range(0, n).boxed().toList()).count(n).seed(7).steps(2).build(), null);
            return g.images().stream().map(Image::png).toList();
        }
    }

    static List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesTheSingleMachineImagesOncePerRowAndAParquetTable() throws IOException {
        Path out = dir.resolve("png"), table = dir.resolve("table");
        MainTest.Run r = SparkTests.run("generate", "--model", SparkTests.DEMO.toString(), "--master", SparkTests.MASTER, "--class", "0-4", "--seed", "7", "--steps", "2",
                "--partitions", "3", "--threads", "1", "--out", out.toString(), "--parquet", table.toString(), "--json");
        assertEquals(0, r.status(), r.out() + "|" + r.err());
        List<byte[]> want = singleMachine(5);
        assertEquals(List.of("00000.png", "00001.png", "00002.png", "00003.png", "00004.png"), files(out));
        for (int i = 0; i < 5; i++) assertArrayEquals(want.get(i), Files.readAllBytes(out.resolve(String.format("%05d.png", i))), "image " + i);
        List<Row> rows = SparkTests.session().read().parquet(table.toString()).orderBy("row").collectAsList();
        assertEquals(5, rows.size());
        for (int i = 0; i < 5; i++) {
            Row row = rows.get(i);
            assertEquals(i, row.getInt(row.fieldIndex("row")));
            assertEquals(i, row.getInt(row.fieldIndex("class")));
            assertEquals(7L, row.getLong(row.fieldIndex("seed")));
            assertArrayEquals(want.get(i), (byte[]) row.get(row.fieldIndex("png")), "Parquet png " + i);
            assertTrue(row.getLong(row.fieldIndex("macs")) > 0);
        }
        assertEquals(3, r.err().lines().filter(l -> l.matches("dit-spark: part \\d done on .*: \\d/5 images, [0-9.]+ images/s")).count(), r.err());
        assertTrue(r.out().startsWith("{\"images\":5,\"parts\":3,\"master\":\"local[2,2]\""), r.out());
    }

    @Test
    void aFailedAttemptIsRetriedAndLeavesNoPartialOrDuplicateFile() throws IOException {
        Path out = dir.resolve("retry");
        MainTest.Run r = SparkTests.run("generate", "--model", SparkTests.DEMO.toString(), "--master", SparkTests.MASTER, "--class", "0-3", "--seed", "7", "--steps", "2",
                "--partitions", "2", "--threads", "1", "--out", out.toString(), "--fail-once");
        assertEquals(0, r.status(), r.out() + "|" + r.err());
        assertEquals(List.of("00000.png", "00001.png", "00002.png", "00003.png"), files(out), "every image once, no temporary file");
        List<byte[]> want = singleMachine(4);
        for (int i = 0; i < 4; i++) assertArrayEquals(want.get(i), Files.readAllBytes(out.resolve(String.format("%05d.png", i))), "image " + i);
        assertTrue(r.err().contains("dit-spark: part 0, attempt 0 failed on localhost: dit-spark: --fail-once: the first attempt of partition 0 fails on purpose"), r.err());
        assertEquals(2, r.err().lines().filter(l -> l.matches("dit-spark: part \\d done .*")).count(), "the retried part counts once: " + r.err());
    }

    @Test
    void promptJobsOnATextToImageRepositoryMakeTheSingleMachineImages() throws IOException {
        Path repo = org.deltadit.cli.PixArtGenerateTest.tinyRepository(dir);
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "a small cat\nblue sky\nthe sea at night\n");
        Path out = dir.resolve("prompt-pngs");
        // at half the native size (--image-size reaches the executors), as the single machine makes them
        MainTest.Run r = SparkTests.run("generate", "--model", repo.toString(), "--master", SparkTests.MASTER, "--prompts", prompts.toString(), "--seed", "4",
                "--steps", "2", "--partitions", "2", "--threads", "1", "--image-size", "8", "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(List.of("00000.png", "00001.png", "00002.png"), files(out));
        assertEquals(8, javax.imageio.ImageIO.read(out.resolve("00000.png").toFile()).getWidth());
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).imageSize(8).threads(2).build())) {
            GenerationResult g = p.generate(GenerationRequest.builder().prompts("a small cat", "blue sky", "the sea at night").seed(4).steps(2).build(), null);
            for (int i = 0; i < 3; i++) assertArrayEquals(g.images().get(i).png(), Files.readAllBytes(out.resolve(String.format("%05d.png", i))), "image " + i);
        }
    }
}
