package org.deltadit.serve;

import java.util.Locale;
import org.deltadit.pipeline.GenerationResult;
import org.deltadit.pipeline.Pipeline;
import org.deltadit.pipeline.PlanJson;
import org.deltadit.weights.Json;

/** The JSON the API answers with, written by hand (a few flat fields). */
final class JobJson {
    private JobJson() {}

    static String error(String message) { return "{\"error\":" + Json.quote(message) + "}"; }

    static String job(Job j) {
        StringBuilder b = new StringBuilder("{\"id\":").append(Json.quote(j.id)).append(",\"model\":").append(Json.quote(j.model))
                .append(",\"status\":\"").append(j.status().name().toLowerCase(Locale.ROOT)).append('"')
                .append(",\"done\":").append(j.done()).append(",\"total\":").append(j.total());
        if (j.error() != null) b.append(",\"error\":").append(Json.quote(j.error()));
        GenerationResult r = j.result();
        if (r != null) {
            b.append(",\"result\":{\"sampler\":").append(Json.quote(r.sampler())).append(",\"steps\":").append(r.steps())
                    .append(",\"cfg\":").append(r.cfg()).append(",\"cache\":").append(Json.quote(r.plan().policy().describe()))
                    .append(",\"macs\":").append(r.macs()).append(",\"macs_with_attention\":").append(r.macsWithAttention())
                    .append(",\"macs_uncached\":").append(r.macsUncached()).append(String.format(Locale.ROOT, ",\"speedup\":%.4f", r.speedup()))
                    .append(String.format(Locale.ROOT, ",\"seconds\":%.4f", r.seconds())).append(",\"cache_hits\":").append(r.cacheHits())
                    .append(",\"cache_bytes\":").append(r.cacheBytes()).append(",\"plan\":").append(PlanJson.planArray(r.plan(), r.timesteps()));
            if (r.labels() != null) b.append(",\"labels\":").append(java.util.Arrays.toString(r.labels()).replace(" ", ""));
            b.append("},\"images\":[");
            for (int k = 0; k < j.pngs().size(); k++) b.append(k > 0 ? "," : "").append(Json.quote("/api/jobs/" + j.id + "/images/" + k + ".png"));
            b.append(']');
        }
        return b.append('}').toString();
    }

    static String model(String name, Pipeline p) {
        return "{\"name\":" + Json.quote(name) + ",\"family\":\"" + (p.textConditioned() ? "pixart" : "dit") + "\",\"arch\":" + Json.quote(p.config().archName())
                + ",\"classes\":" + (p.textConditioned() ? "null" : p.numClasses()) + ",\"text\":" + p.textConditioned()
                + ",\"image_size\":" + p.imageSize() + ",\"depth\":" + p.config().depth() + ",\"default_sampler\":" + Json.quote(p.defaultSampler())
                + ",\"default_cfg\":" + p.defaultCfg(p.defaultSampler()) + ",\"device\":" + Json.quote(p.backend().name()) + "}";
    }
}
