package org.deltadit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.options.TimeValue;

/** The report's paired column: each iteration over the peak measured after it, matched by trial. */
class GemmReportTest {
    @TempDir Path dir;

    @Test
    void eachIterationIsDividedByItsOwnPeak() {
        // iteration 2 ran in a busy minute and so did its peak: paired, it is no outlier
        assertEquals("90.0 % (85.0–95.0)", GemmReport.paired(List.of(360.0, 170.0, 380.0), List.of(400.0, 200.0, 400.0)));
        assertEquals("85.0 % (80.0–90.0)", GemmReport.paired(List.of(360.0, 400.0), List.of(400.0, 500.0)), "even count: the mean of the middle two");
        assertEquals("n/a", GemmReport.paired(List.of(1.0, 2.0), List.of(1.0)), "a peak missing: not paired out of order");
        assertEquals("n/a", GemmReport.paired(List.of(), List.of()));
    }

    @Test
    void peaksAreGroupedByTrialInIterationOrder() {
        Map<String, List<Double>> p = GemmReport.peaks(List.of("256x1152x1152 F32 nk true 1\t400.5", "256x1152x1152 BF16 nk true 1\t300", "256x1152x1152 F32 nk true 1\t410", ""));
        assertEquals(List.of(400.5, 410.0), p.get("256x1152x1152 F32 nk true 1"));
        assertEquals(List.of(300.0), p.get("256x1152x1152 BF16 nk true 1"));
        assertEquals(2, p.size());
    }

    @Test
    void theForkWritesOnePeakAfterEachMeasuredIterationUnderItsTrialsKey() throws IOException {
        GemmBenchmark b = new GemmBenchmark();
        b.shape = "16x24x40";
        b.weights = "F32";
        b.layout = "nk";
        b.constant = true;
        b.copies = 2;
        b.setup();
        Path file = dir.resolve("peaks.tsv");
        String before = System.getProperty(GemmBenchmark.PEAKS_PROPERTY);
        try {
            b.peakAfter(new IterationParams(IterationType.MEASUREMENT, 3, TimeValue.seconds(1), 1));
            assertTrue(Files.notExists(file), "no file asked for: nothing written");
            System.setProperty(GemmBenchmark.PEAKS_PROPERTY, file.toString());
            b.peakAfter(new IterationParams(IterationType.WARMUP, 3, TimeValue.seconds(1), 1));
            assertTrue(Files.notExists(file), "warm-up iterations are not in JMH's results: no peak for them");
            b.peakAfter(new IterationParams(IterationType.MEASUREMENT, 3, TimeValue.seconds(1), 1));
            b.peakAfter(new IterationParams(IterationType.MEASUREMENT, 3, TimeValue.seconds(1), 1));
        } finally {
            if (before == null) System.clearProperty(GemmBenchmark.PEAKS_PROPERTY);
            else System.setProperty(GemmBenchmark.PEAKS_PROPERTY, before);
        }
        List<Double> peaks = GemmReport.peaks(Files.readAllLines(file)).get("16x24x40 F32 nk true 2");
        assertEquals(2, peaks.size(), Files.readString(file));
        assertTrue(peaks.stream().allMatch(p -> p > 0), peaks.toString());
    }
}
