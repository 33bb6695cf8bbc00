package org.deltadit.serve;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.cache.Plan;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.ModelSpec;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.PlanJson;
import org.deltadit.sampler.Samplers;
import org.deltadit.weights.Json;
import org.deltadit.weights.ModelConfig;

/**
 * {@code dit serve}: each model loaded once, a JSON API over the pipeline, and the comparison page. Every
 * error is {"error": "…"} — 400 for a bad request (the same one-line messages as the CLI, with JSON field
 * names), 404 for an unknown job or image, 413 past the request-size, count or step limits, 429 when a
 * model's queue is full — never a stack trace.
 */
public final class Server implements AutoCloseable {
    static final int MAX_BODY = 64 * 1024;

    private final ServeOptions options;
    private final Map<String, Pipeline> models = new LinkedHashMap<>();
    private final Jobs jobs;
    private final Javalin app;

    /** Too large a request (HTTP 413). */
    static final class TooLarge extends RuntimeException {
        TooLarge(String message) { super(message); }
    }

    public Server(ServeOptions options) {
        this.options = options;
        try {
            for (Map.Entry<String, ModelSpec> m : options.models().entrySet()) models.put(m.getKey(), Pipeline.open(m.getValue()));
        } catch (RuntimeException e) {
            models.values().forEach(Pipeline::close);
            throw e;
        }
        this.jobs = new Jobs(options);
        this.app = Javalin.create(cfg -> {
            cfg.jetty.host = options.host();
            cfg.jetty.port = options.port();
            cfg.startup.showJavalinBanner = false;
            cfg.http.maxRequestSize = MAX_BODY;
            cfg.staticFiles.add("/web", Location.CLASSPATH);
            cfg.routes.get("/api/models", this::models);
            cfg.routes.post("/api/generate", this::generate);
            cfg.routes.get("/api/jobs/{id}", ctx -> json(ctx, 200, JobJson.job(job(ctx))));
            cfg.routes.get("/api/jobs/{id}/images/{file}", this::image);
            cfg.routes.delete("/api/jobs/{id}", ctx -> {
                Job j = job(ctx);
                jobs.cancel(j);
                json(ctx, 200, JobJson.job(j));
            });
            cfg.routes.sse("/api/jobs/{id}/events", client -> events(client));
            cfg.routes.get("/api/plan", this::plan);
            cfg.routes.exception(InvalidParameter.class, (e, ctx) -> json(ctx, 400, JobJson.error(RequestJson.field(e.parameter()) + ": " + e.problem())));
            cfg.routes.exception(TooLarge.class, (e, ctx) -> json(ctx, 413, JobJson.error(e.getMessage())));
            cfg.routes.exception(Jobs.QueueFull.class, (e, ctx) -> json(ctx, 429, JobJson.error(e.getMessage())));
            cfg.routes.exception(NotFound.class, (e, ctx) -> json(ctx, 404, JobJson.error(e.getMessage())));
            cfg.routes.exception(IllegalArgumentException.class, (e, ctx) -> json(ctx, 400, JobJson.error(e.getMessage())));
            cfg.routes.exception(Exception.class, (e, ctx) -> json(ctx, 500, JobJson.error("internal error (" + e.getClass().getSimpleName() + ")")));
            cfg.routes.error(404, ctx -> {
                // a handler's own 404 already wrote its reason; this is for paths no route matched
                if (ctx.path().startsWith("/api/") && !answered(ctx)) {
                    json(ctx, 404, JobJson.error("no such endpoint: " + ctx.method() + " " + ctx.path()));
                }
            });
            cfg.routes.error(413, ctx -> {
                if (!answered(ctx)) json(ctx, 413, JobJson.error("request larger than " + MAX_BODY + " bytes"));
            });
        });
    }

    /** Starts listening; returns the port (useful with port 0). */
    public int start() {
        app.start();
        return app.port();
    }

    public int port() { return app.port(); }

    /** A job by id, or null (for the tests). */
    Job jobById(String id) { return jobs.get(id); }

    /** Jobs held now (for the memory checks of the tests). */
    int jobCount() { return jobs.all().size(); }

    static final class NotFound extends RuntimeException {
        NotFound(String message) { super(message); }
    }

    /** Whether a handler already wrote a JSON answer (error handlers must not replace its reason). */
    private static boolean answered(Context ctx) {
        String type = ctx.res().getContentType();
        return type != null && type.startsWith("application/json");
    }

    private static void json(Context ctx, int status, String body) {
        ctx.status(status).contentType("application/json").result(body);
    }

    private Job job(Context ctx) {
        Job j = jobs.get(ctx.pathParam("id"));
        if (j == null) throw new NotFound("no job '" + ctx.pathParam("id") + "' (unknown, or expired)");
        return j;
    }

    private void models(Context ctx) {
        StringBuilder b = new StringBuilder("[");
        for (Map.Entry<String, Pipeline> m : models.entrySet()) b.append(b.length() > 1 ? "," : "").append(JobJson.model(m.getKey(), m.getValue()));
        json(ctx, 200, b.append(']').toString());
    }

    private Pipeline model(String name) {
        Pipeline p = models.get(name);
        if (p == null) throw new InvalidParameter("model", "unknown model '" + name + "' (" + String.join(", ", models.keySet()) + ")");
        return p;
    }

    private void generate(Context ctx) {
        byte[] body = ctx.bodyAsBytes();
        if (body.length > MAX_BODY) throw new TooLarge("request larger than " + MAX_BODY + " bytes");
        RequestJson.Parsed parsed = RequestJson.parse(Json.parseObject("request", body)); // bad JSON: a CheckpointException, 400
        Pipeline p = model(parsed.model());
        GenerationRequest r = parsed.request();
        if (r.images() > options.maxCount()) throw new TooLarge("count: " + r.images() + " images; this server takes at most " + options.maxCount() + " per request");
        int steps = r.steps() != null ? r.steps() : Pipeline.defaultSteps(r.sampler() != null ? r.sampler() : p.defaultSampler());
        if (steps > options.maxSteps()) throw new TooLarge("steps: " + steps + "; this server takes at most " + options.maxSteps());
        p.validate(r);
        Job job = jobs.submit(parsed.model(), p, r);
        json(ctx, 202, "{\"id\":" + Json.quote(job.id) + ",\"status\":\"queued\"}");
    }

    private void image(Context ctx) {
        Job j = job(ctx);
        String file = ctx.pathParam("file");
        int k;
        try {
            if (!file.endsWith(".png")) throw new NumberFormatException();
            k = Integer.parseInt(file.substring(0, file.length() - 4));
        } catch (NumberFormatException e) {
            throw new NotFound("no image '" + file + "' (images are 0.png, 1.png, …)");
        }
        if (k < 0 || k >= j.pngs().size()) throw new NotFound("job " + j.id + " has no image " + k + (j.finished() ? "" : " yet (status " + j.status().name().toLowerCase() + ")"));
        ctx.contentType("image/png").result(j.pngs().get(k));
    }

    /** Server-sent events: "progress" after every step, then one "done", "failed" or "cancelled" with the job, then the stream ends. */
    private void events(io.javalin.http.sse.SseClient client) {
        Job j = jobs.get(client.ctx().pathParam("id"));
        if (j == null) {
            client.sendEvent("error", JobJson.error("no job '" + client.ctx().pathParam("id") + "'"));
            client.close();
            return;
        }
        CountDownLatch end = new CountDownLatch(1);
        Consumer<Job> w = job -> {
            if (job.finished()) {
                client.sendEvent(job.status().name().toLowerCase(), JobJson.job(job));
                end.countDown();
            } else {
                client.sendEvent("progress", "{\"done\":" + job.done() + ",\"total\":" + job.total() + "}");
            }
        };
        j.watch(w);
        client.onClose(end::countDown);
        if (j.finished()) w.accept(j);
        try {
            end.await(options.jobTtlSeconds() + 3600, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            j.unwatch(w);
            client.close();
        }
    }

    /** What `dit plan --json` prints, for a served model: ?model=&steps=&cfg=&sampler=&cache=&b=&interval=&cached_blocks=&range=&gate_step= */
    private void plan(Context ctx) {
        Pipeline p = model(ctx.queryParam("model") == null ? models.keySet().iterator().next() : ctx.queryParam("model"));
        int steps = intParam(ctx, "steps", 20);
        double cfg = ctx.queryParam("cfg") == null ? p.defaultCfg(p.defaultSampler()) : doubleParam(ctx, "cfg");
        if (!(cfg >= 0 && cfg <= 100)) throw new InvalidParameter("cfg", cfg + " (0..100)");
        if (steps < 1 || steps > options.maxSteps()) throw new InvalidParameter("steps", steps + " (1.." + options.maxSteps() + ")");
        String kind = ctx.queryParam("cache") == null ? "none" : ctx.queryParam("cache");
        CacheSpec spec = new CacheSpec.Named(kind, intParamOrNull(ctx, "b"), intParamOrNull(ctx, "interval"), intParamOrNull(ctx, "cached_blocks"),
                ctx.queryParam("range"), ctx.queryParam("speedup") == null ? null : doubleParam(ctx, "speedup"), "true".equals(ctx.queryParam("reverse")),
                intParamOrNull(ctx, "gate_step"));
        ModelConfig c = p.config();
        int branches = cfg > 1 ? 2 : 1;
        CachePolicy policy = spec.resolve(steps, c, branches);
        Plan plan = Plan.of(policy, steps, c.depth());
        String sampler = ctx.queryParam("sampler") == null ? p.defaultSampler() : ctx.queryParam("sampler");
        float[] ts = Samplers.create(sampler, steps, null, !p.textConditioned(), 0, false).timesteps();
        json(ctx, 200, PlanJson.plan(plan, ts, plan.macs(c, 1, branches), plan.macsWithAttention(c, 1, branches), Plan.uncachedMacs(c, steps, 1, branches)));
    }

    private static Integer intParamOrNull(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null) return null;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new InvalidParameter(name, "'" + v + "' is not an integer");
        }
    }

    private static int intParam(Context ctx, String name, int dflt) {
        Integer v = intParamOrNull(ctx, name);
        return v == null ? dflt : v;
    }

    private static double doubleParam(Context ctx, String name) {
        String v = ctx.queryParam(name);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new InvalidParameter(name, "'" + v + "' is not a number");
        }
    }

    /** Stops taking requests, cancels the running jobs between steps, and frees the models. */
    @Override
    public void close() {
        app.stop();
        jobs.close();
        models.values().forEach(Pipeline::close);
    }
}
