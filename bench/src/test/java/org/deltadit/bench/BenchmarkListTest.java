package org.deltadit.bench;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * JMH finds benchmarks through the list its annotation processor writes at compile time; a benchmark class that
 * loses its {@code @Benchmark} method still compiles, and GemmReport then only says "No benchmarks to run".
 */
class BenchmarkListTest {
    @Test
    void everyBenchmarkClassIsListed() throws IOException {
        String list;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("META-INF/BenchmarkList")) {
            assertNotNull(in, "META-INF/BenchmarkList: the JMH annotation processor did not run");
            list = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (Class<?> c : new Class<?>[] {GemmBenchmark.class, AttentionBenchmark.class}) {
            assertTrue(Arrays.stream(c.getMethods()).anyMatch(m -> m.isAnnotationPresent(Benchmark.class)), c + " has no @Benchmark method");
            assertTrue(list.contains(c.getName() + " "), c + " is not in JMH's benchmark list");
        }
    }
}
