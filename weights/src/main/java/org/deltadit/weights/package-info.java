/**
 * Checkpoint readers: safetensors (memory-mapped, sharded indexes), PyTorch zip pickles through a
 * restricted unpickler, checkpoint format detection, key-name tables and DiT configs.
 */
package org.deltadit.weights;
