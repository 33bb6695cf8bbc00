package org.deltadit.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.deltadit.weights.Json;
import org.junit.jupiter.api.Test;

/**
 * A bounded load on 127.0.0.1: 200 requests from 16 clients against one model that runs one job at a
 * time with 8 waiting. Every accepted job completes, no answer is lost or given twice, 429s appear
 * when the queue is full, and the job table is empty again after the TTL. Prints the figures.
 */
class LoadTest {
    @Test
    void twoHundredRequestsFromSixteenClients() throws Exception {
        int clients = 16, requests = 200;
        try (Server server = new Server(new ServeOptions("127.0.0.1", 0, Map.of("demo", ServerTest.demo()), 1, 8, 4, 100, 2))) {
            String base = "http://127.0.0.1:" + server.start();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            List<String> accepted = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger rejected = new AtomicInteger(), other = new AtomicInteger(), sent = new AtomicInteger();
            List<Double> pollMillis = Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            long start = System.nanoTime(), deadline = start + TimeUnit.SECONDS.toNanos(120);
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                work.add(pool.submit(() -> {
                    for (int n; (n = sent.getAndIncrement()) < requests && System.nanoTime() < deadline; ) {
                        String body = "{\"model\":\"demo\",\"class\":" + (n % 10) + ",\"seed\":" + n + ",\"steps\":2}";
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/generate")).POST(HttpRequest.BodyPublishers.ofString(body))
                                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 202) {
                            String id = (String) Json.parseObject("reply", r.body().getBytes()).get("id");
                            accepted.add(id);
                            // this client polls its job to the end, as the page does without events
                            while (System.nanoTime() < deadline) {
                                long t0 = System.nanoTime();
                                HttpResponse<String> s = http.send(HttpRequest.newBuilder(URI.create(base + "/api/jobs/" + id)).timeout(Duration.ofSeconds(30)).build(),
                                        HttpResponse.BodyHandlers.ofString());
                                pollMillis.add((System.nanoTime() - t0) / 1e6);
                                if (s.statusCode() != 200) throw new AssertionError("client " + client + ": " + s.statusCode() + " " + s.body());
                                String status = (String) Json.parseObject("reply", s.body().getBytes()).get("status");
                                if (status.equals("done")) break;
                                if (!status.equals("queued") && !status.equals("running")) throw new AssertionError(id + " ended " + status);
                                Thread.sleep(25);
                            }
                        } else if (r.statusCode() == 429) {
                            rejected.incrementAndGet();
                            Thread.sleep(150); // back off, as a client told 429 should
                        } else {
                            other.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) f.get(150, TimeUnit.SECONDS);
            pool.shutdown();
            double seconds = (System.nanoTime() - start) / 1e9;
            Set<String> unique = new HashSet<>(accepted);
            assertEquals(accepted.size(), unique.size(), "no job id given twice");
            assertEquals(requests, accepted.size() + rejected.get() + other.get(), "every request answered once");
            assertEquals(0, other.get(), "only 202 and 429");
            assertTrue(rejected.get() > 0, "16 clients against 1 running + 8 waiting must hit 429");
            List<Double> sorted = new ArrayList<>(pollMillis);
            Collections.sort(sorted);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.jobCount() > 0 && System.nanoTime() < end) Thread.sleep(100);
            assertEquals(0, server.jobCount(), "the job table empties after the TTL");
            System.out.printf(java.util.Locale.ROOT, "load: %d requests, %d clients, %.1f s: %d accepted and completed, %d answered 429; "
                            + "/api/jobs polling p50 %.1f ms, p95 %.1f ms over %d polls; peak RSS %d MB%n",
                    requests, clients, seconds, accepted.size(), rejected.get(), sorted.get(sorted.size() / 2), sorted.get((int) (sorted.size() * 0.95)),
                    sorted.size(), peakRssMb());
        }
    }

    static long peakRssMb() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
        return -1;
    }
}
