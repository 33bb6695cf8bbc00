/**
 * Checkpoint readers (safetensors, PyTorch zip pickles, sharded indexes) and key-name mapping.
 *
 * <p>Placeholder until its issue lands; see the module README.
 */
package org.deltadit.weights;
