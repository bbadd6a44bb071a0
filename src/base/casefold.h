// SPDX-License-Identifier: Apache-2.0
#pragma once

// Case-insensitive names: Unicode simple case folding (the Unicode Standard §3.13, the
// mappings of status C and S in CaseFolding.txt), so that "Straße.TXT" and "strasse.txt" stay
// different but "ΣΊΣΥΦΟΣ" and "σίσυφος" (with final sigma folded to σ) are one name. Simple
// folding maps each code point to one code point, so a folded name is never longer in code
// points than the original.

#include <cstdint>
#include <string>
#include <string_view>

namespace dittofs {

// The code point `c` folds to (itself when it has no folding).
char32_t FoldCodePoint(char32_t c);

// `name` with every code point folded, in UTF-8. Bytes that are not well-formed UTF-8 (an
// NFS name may hold any bytes) are copied unchanged, so two names fold equal only if they are
// equal where they are not UTF-8. ASCII-only names take a fast path.
std::string FoldCase(std::string_view name);

// The next unit of a folded name, advancing *pos: a folded code point, or where the name is
// not UTF-8 a raw byte as kRawByte + byte, so raw bytes never equal code points.
// REQUIRES: *pos < name.size().
inline constexpr char32_t kRawByte = 0x110000;
char32_t NextFolded(std::string_view name, size_t* pos);

// Whether FoldCase(a) == FoldCase(b), without building either.
bool EqualFolded(std::string_view a, std::string_view b);

}  // namespace dittofs
