// SHA-256 (OpenSSL EVP) for manifests, checkpoint identities and dataset hashes.
#pragma once
#include <cstddef>
#include <string>

namespace w2s {

std::string sha256_hex(const void* data, size_t size);
std::string sha256_hex(const std::string& data);
// Streams the file; throws DataError naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace w2s
