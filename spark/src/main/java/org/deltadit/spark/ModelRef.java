package org.deltadit.spark;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.deltadit.pipeline.ModelSpec;

/**
 * What an executor needs to open the model: paths as strings (a path must name the same files on every
 * node: a shared filesystem, or the folder an {@code --archives model.tgz#model} unpacks into each
 * executor's working folder) and the device.
 */
record ModelRef(String model, Integer heads, Integer imageSize, String vae, String textEncoder, String tokenizer, String device, Integer threads) implements Serializable {

    ModelSpec spec() { return spec(device); }

    ModelSpec spec(String dev) {
        return ModelSpec.builder().model(Path.of(model)).heads(heads).imageSize(imageSize).vae(path(vae)).textEncoder(path(textEncoder)).tokenizer(path(tokenizer))
                .device(dev).threads(threads).build();
    }

    /**
     * The device of this task: on a GPU cluster, {@code --device opencl} (or cuda) without an index takes the
     * first GPU address Spark assigned the task ({@code spark.task.resource.gpu.amount}); otherwise as given.
     */
    String deviceForTask() {
        if (device == null || device.contains(":") || !(device.equals("opencl") || device.equals("cuda"))) return device;
        TaskContext tc = TaskContext.get();
        if (tc == null) return device;
        Map<String, ResourceInformation> res = tc.resourcesJMap();
        return Optional.ofNullable(res.get("gpu")).filter(r -> r.addresses().length > 0).map(r -> device + ":" + r.addresses()[0]).orElse(device);
    }

    private static Path path(String s) { return s == null ? null : Path.of(s); }
}
