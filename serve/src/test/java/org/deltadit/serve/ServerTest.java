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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.deltadit.weights.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every endpoint and error status of dit serve, over loopback, on the demo model. */
class ServerTest {
    static final Path DEMO = Path.of("../models/demo");

    /** The demo model on 2 threads. */
    static org.deltadit.pipeline.ModelSpec demo() { return org.deltadit.pipeline.ModelSpec.builder().model(DEMO).threads(2).build(); }
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    Server server;
    String base;

    Server start(int concurrency, int maxQueue, long ttl) {
        server = new Server(new ServeOptions("127.0.0.1", 0, Map.of("demo", demo()), concurrency, maxQueue, 4, 400, ttl));
        base = "http://127.0.0.1:" + server.start();
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    record Reply(int status, String body, String type) {
        Map<String, Object> json() { return Json.parseObject("reply", body.getBytes()); }
    }

    Reply get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers().firstValue("content-type").orElse(""));
    }

    /** The whole event stream of a job (as an EventSource asks for it), until the server ends it. */
    String events(String id) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/api/jobs/" + id + "/events")).header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(60)).build();
        return http.send(req, HttpResponse.BodyHandlers.ofString()).body();
    }

    Reply send(String method, String path, String body) throws Exception {
        HttpRequest.BodyPublisher p = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).method(method, p).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r.headers().firstValue("content-type").orElse(""));
    }

    String submit(String body) throws Exception {
        Reply r = send("POST", "/api/generate", body);
        assertEquals(202, r.status(), r.body());
        return (String) r.json().get("id");
    }

    Map<String, Object> waitFor(String id, String... statuses) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            Map<String, Object> j = get("/api/jobs/" + id).json();
            if (List.of(statuses).contains(j.get("status"))) return j;
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " did not reach " + List.of(statuses));
    }

    @Test
    void generatesAndServesImagesProgressAndPlans() throws Exception {
        start(1, 8, 600);
        Reply models = get("/api/models");
        assertEquals(200, models.status());
        assertTrue(models.body().contains("\"name\":\"demo\"") && models.body().contains("\"classes\":10") && models.body().contains("\"depth\":28"), models.body());
        String id = submit("{\"model\":\"demo\",\"class\":3,\"seed\":5,\"steps\":6,\"cache\":{\"kind\":\"delta-dit\",\"b\":3}}");
        Map<String, Object> job = waitFor(id, "done");
        @SuppressWarnings("unchecked") Map<String, Object> result = (Map<String, Object>) job.get("result");
        assertEquals("delta-dit b=3 N=2 Nc=21", result.get("cache"));
        assertTrue((Long) result.get("macs") < (Long) result.get("macs_uncached"));
        assertEquals(3L, result.get("cache_hits"), "steps 2, 4, 6 cached");
        assertEquals(List.of("/api/jobs/" + id + "/images/0.png"), job.get("images"));
        HttpResponse<byte[]> png = http.send(HttpRequest.newBuilder(URI.create(base + "/api/jobs/" + id + "/images/0.png")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, png.statusCode());
        assertEquals("image/png", png.headers().firstValue("content-type").orElse(""));
        assertEquals(32, javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png.body())).getWidth());
        // server-sent events of a finished job: its end event, then the stream closes
        String events = events(id);
        assertTrue(events.contains("event: done") && events.contains("\"status\":\"done\""), events);
        // events while it runs: progress, then done
        String id2 = submit("{\"model\":\"demo\",\"class\":1,\"steps\":30}");
        String live = events(id2);
        assertTrue(live.contains("event: progress") && live.contains("\"total\":30") && live.contains("event: done"), live);
        Reply plan = get("/api/plan?model=demo&cache=delta-dit&steps=20");
        assertEquals(200, plan.status());
        assertTrue(plan.body().startsWith("{\"cache\":\"delta-dit b=12 N=2 Nc=21\"") && plan.body().contains("\"speedup\":1.59"), plan.body());
        Reply page = get("/");
        assertTrue(page.status() == 200 && page.body().contains("<title>deltadit"), page.body());
        assertEquals(200, get("/app.js").status());
    }

    @Test
    void everyErrorIsJsonWithItsStatus() throws Exception {
        start(1, 8, 600);
        Object[][] cases = {
            {"POST", "/api/generate", "{not json", 400, "not valid JSON"},
            {"POST", "/api/generate", "[1,2]", 400, "not a JSON object"},
            {"POST", "/api/generate", "{\"class\":3}", 400, "model: missing"},
            {"POST", "/api/generate", "{\"model\":\"x\"}", 400, "unknown model 'x' (demo)"},
            {"POST", "/api/generate", "{\"model\":\"/etc/passwd\"}", 400, "unknown model"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"class\":10}", 400, "classes: 10 outside [0, 10)"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"class\":\"3\"}", 400, "class: is a string"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"colour\":1}", 400, "colour: unknown field"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"prompt\":\"a cat\"}", 400, "prompts: a class-conditional DiT"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"cfg\":-1}", 400, "cfg"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"sampler\":\"heun\"}", 400, "sampler: unknown sampler"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"dynamic_thresholding_ratio\":1.5}", 400, "dynamic_thresholding_ratio: ratio 1.5"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"sample_max_value\":1.5}", 400, "sample_max_value: goes with dynamic_thresholding_ratio"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"dynamic_thresholding_ratio\":0.995,\"clip_sample\":1}", 400, "dynamic_thresholding_ratio: and the clip-sample clamp"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"cache\":{\"kind\":\"delta-dit\",\"cached_blocks\":40}}", 400, "cache.cached_blocks: 40"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"cache\":{\"kind\":\"tgate\"}}", 400, "needs a PixArt model"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"cache\":{\"b\":3}}", 400, "cache.kind: missing"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"count\":5}", 413, "at most 4 per request"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"steps\":401}", 413, "at most 400"},
            {"POST", "/api/generate", "{\"model\":\"demo\",\"pad\":\"" + "x".repeat(70_000) + "\"}", 413, "larger than"},
            {"GET", "/api/jobs/nope", null, 404, "no job 'nope'"},
            {"GET", "/api/jobs/nope/images/0.png", null, 404, "no job 'nope'"},
            {"DELETE", "/api/jobs/nope", null, 404, "no job 'nope'"},
            {"GET", "/api/nothing", null, 404, "no such endpoint"},
            {"GET", "/api/plan?model=demo&steps=abc", null, 400, "steps: 'abc' is not an integer"},
            {"GET", "/api/plan?model=demo&cache=delta-dit&b=99", null, 400, "cache.b: 99"},
        };
        List<String> wrong = new ArrayList<>();
        for (Object[] c : cases) {
            Reply r = send((String) c[0], (String) c[1], (String) c[2]);
            boolean ok = r.status() == (int) c[3] && r.type().startsWith("application/json") && r.body().startsWith("{\"error\":") && r.body().contains((String) c[4])
                    && !r.body().contains("Exception") && !r.body().contains("\tat ");
            if (!ok) wrong.add(c[0] + " " + c[1] + " → " + r.status() + " " + r.type() + " " + r.body().substring(0, Math.min(300, r.body().length())));
        }
        assertEquals(List.of(), wrong);
        String id = submit("{\"model\":\"demo\",\"class\":2,\"steps\":2}");
        waitFor(id, "done");
        Reply noImage = get("/api/jobs/" + id + "/images/1.png");
        assertEquals(404, noImage.status());
        assertTrue(noImage.body().contains("has no image 1"), noImage.body());
    }

    @Test
    void cancelStopsARunningJobBetweenSteps() throws Exception {
        start(1, 8, 600);
        String id = submit("{\"model\":\"demo\",\"class\":4,\"steps\":400}");
        waitFor(id, "running");
        String queued = submit("{\"model\":\"demo\",\"class\":5,\"steps\":400}");
        assertEquals("queued", get("/api/jobs/" + queued).json().get("status"));
        assertEquals(200, send("DELETE", "/api/jobs/" + queued, null).status());
        assertEquals("cancelled", get("/api/jobs/" + queued).json().get("status"), "a queued job is cancelled at once");
        assertEquals(200, send("DELETE", "/api/jobs/" + id, null).status());
        Map<String, Object> j = waitFor(id, "cancelled", "done");
        assertEquals("cancelled", j.get("status"));
        assertTrue((Long) j.get("done") < 400, "stopped before the end: " + j);
    }

    @Test
    void shutdownCancelsRunningJobsBetweenSteps() throws Exception {
        start(1, 8, 600);
        String id = submit("{\"model\":\"demo\",\"class\":4,\"steps\":400}");
        waitFor(id, "running");
        Job job = server.jobById(id);
        long t0 = System.nanoTime();
        server.close();
        server = null;
        assertEquals(Job.Status.CANCELLED, job.status());
        assertTrue(job.done() < 400, "stopped between steps, not at the end");
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "closed promptly");
    }

    @Test
    void aFullQueueAnswers429AndFinishedJobsExpire() throws Exception {
        start(1, 1, 1);
        String running = submit("{\"model\":\"demo\",\"class\":4,\"steps\":400}");
        waitFor(running, "running");
        String waiting = submit("{\"model\":\"demo\",\"class\":4,\"steps\":2}");
        Reply full = send("POST", "/api/generate", "{\"model\":\"demo\",\"class\":4,\"steps\":2}");
        assertEquals(429, full.status(), full.body());
        assertTrue(full.body().contains("queue of model 'demo' is full"), full.body());
        send("DELETE", "/api/jobs/" + running, null);
        waitFor(waiting, "done");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.jobCount() > 0 && System.nanoTime() < end) Thread.sleep(100);
        assertEquals(0, server.jobCount(), "finished jobs and their images are dropped after the TTL");
        assertEquals(404, get("/api/jobs/" + waiting).status());
    }
}
