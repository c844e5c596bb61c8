// safetensors checkpoints (the format NumPy/PyTorch users read with
// `safetensors.numpy.load_file`): 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian tensor bytes. Writes are atomic; reads validate everything.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

struct SafetensorsFile {
  std::map<std::string, HostTensor> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__" (string -> string)
};

// A libcrbm checkpoint without tensors yet: `extra` metadata plus the keys every
// checkpoint carries (format "crbm", format_version, model = `model`).
SafetensorsFile new_checkpoint(const std::string& model,
                               const std::map<std::string, std::string>& extra = {});

// Writes F32 tensors in name order, contiguous and 8-byte aligned (the header is
// padded with spaces to a multiple of 8), atomically (see write_file_atomically):
// an existing file at `path` is replaced only when the new one is complete.
void save_safetensors(const std::string& path, const SafetensorsFile& f);

// Reads and validates a safetensors file: header length sane (< file size, < 100 MB),
// JSON well formed, each entry with dtype/shape/data_offsets, offsets inside the data
// region, not overlapping and covering it exactly (no holes, no bytes after the last
// tensor), byte count == prod(shape) * itemsize. F32 loads as is;
// F64, F16 and BF16 are converted to float; other dtypes throw. Every error message
// starts with the path.
SafetensorsFile load_safetensors(const std::string& path);

// The model kinds a libcrbm checkpoint can hold (metadata "model").
const std::vector<std::string>& checkpoint_model_kinds();

// Validates `f` as a libcrbm checkpoint of the kind its metadata "model" names
// ("rbm" when absent): every tensor the kind needs is present, shapes chain from
// layer to layer and agree with the size metadata (visible, hidden, layers, sizes,
// channels, ...), there is no tensor the kind does not have, and every value is
// finite. Throws crbm::Error "<path>: ..." naming the tensor or metadata key.
void validate_checkpoint(const SafetensorsFile& f, const std::string& path_for_messages);

// load_safetensors + validate_checkpoint: how every command and load_*() reads a
// checkpoint, so that they all accept and reject the same files.
SafetensorsFile load_checkpoint(const std::string& path);

// The tensor `name` with the expected shape (a dim of -1 matches anything); throws
// "<path>: missing tensor 'weights' (has: a, b, c)" or
// "<path>: tensor 'weights' has shape [3,4], expected [3,5]".
const HostTensor& require_tensor(const SafetensorsFile& f, const std::string& name,
                                 const std::vector<int64_t>& expected_shape,
                                 const std::string& path_for_messages);

// Layers 0..n-1 of a layered checkpoint (MLP, DBM): "layer<l>.weights" [rows x cols], with
// the rows of layer 0 `first_rows` (-1: any) and those of every later layer the cols of the
// one below, and after each its bias "layer<l>.<bias>" [cols]; appended to `weights` and
// `biases`. Throws as require_tensor does.
void require_weight_chain(const SafetensorsFile& f, int64_t n, int64_t first_rows,
                          const std::string& bias, std::vector<HostTensor>& weights,
                          std::vector<HostTensor>& biases, const std::string& path_for_messages);

// The metadata value for `key`; throws "<path>: missing metadata 'key'" when absent.
const std::string& require_metadata(const SafetensorsFile& f, const std::string& key,
                                    const std::string& path_for_messages);

// Nothing when the metadata "model" is `kind`; otherwise throws "<path>: missing metadata
// 'model'" or "<path>: holds a 'dbn' model, not <what>" (what: "an MLP", "a DBN", ...).
void require_model(const SafetensorsFile& f, const std::string& kind, const std::string& what,
                   const std::string& path_for_messages);

// The metadata value for `key` as a whole number in [min, max]; throws "<path>: metadata
// 'layers' is not a number" or "<path>: metadata layers = 0 (expected 1..64)".
int64_t require_metadata_int(const SafetensorsFile& f, const std::string& key, int64_t min,
                             int64_t max, const std::string& path_for_messages);

}  // namespace crbm
