package org.deltadit.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.weights.Int8Export;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit quantize}: weight-only INT8 of a checkpoint's transformer blocks (paper App. E). */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Write weight-only INT8 of a model's transformer-block linears (symmetric, per output channel or per group), "
                + "scales beside each weight; every command reads the result with --model.")
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "weights file, folder, or diffusers repository")
    Path model;

    @Option(names = "--out", required = true, description = "new (or empty) folder for the quantized model")
    Path out;

    @Option(names = "--group-size", defaultValue = "0", description = "inputs per scale; 0 = one scale per output channel (default: ${DEFAULT-VALUE})")
    int groupSize;

    @Override
    public Integer call() {
        long t0 = System.nanoTime();
        Int8Export.Result r = Int8Export.run(model, out, groupSize, System.err::println);
        System.out.printf(Locale.ROOT, "quantized %d weights to INT8, kept %d tensors as stored: %s (%s, was %s) in %.1f s%n",
                r.quantized(), r.kept(), r.weights(), InfoCommand.human(r.bytesAfter()), InfoCommand.human(r.bytesBefore()), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
