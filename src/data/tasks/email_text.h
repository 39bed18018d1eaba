// Plain text out of a raw RFC 822 e-mail (SpamAssassin corpus), by simple rules — no charset
// conversion, no base64 decoding:
//  1. Headers: everything up to the first blank line. Only Subject is kept (unfolded, whitespace
//     collapsed, at most 200 bytes); Content-Type / Content-Transfer-Encoding steer step 2.
//  2. MIME: a multipart body is cut at its boundary lines; each part's own header block is
//     dropped. multipart/alternative keeps one part (text/plain, else text/html); other
//     multiparts keep every text part, recursively. Non-text parts (attachments, images) and
//     base64-encoded parts are dropped.
//  3. Quoted-printable parts: soft line breaks removed, =XX decoded.
//  4. HTML (text/html, or text containing <html, <body, <br, <p>, <font, <table, <div or <a href):
//     comments, <style>, <script> and <head> blocks removed, every tag replaced by a space, the
//     common entities (&nbsp; &amp; &lt; &gt; &quot; &apos; &#N;) decoded.
//  5. Leftover lines that look like base64 (>= 40 characters of [A-Za-z0-9+/=] only) or like
//     MIME boundaries ("--" then >= 10 non-blank characters, not all dashes) are dropped.
//  6. Bytes that are not valid UTF-8 are read as Latin-1; U+FFFD (text the package could not
//     decode, mostly Asian-charset spam) and control characters become spaces;
//     whitespace is collapsed to single spaces; the body is cut to max_body_bytes at a word
//     boundary.
#pragma once
#include <cstddef>
#include <string>

namespace w2s::tasks {

struct EmailText {
  std::string subject;  // may be empty
  std::string body;     // may be empty (then the e-mail is unusable)
};

EmailText clean_email(const std::string& raw, size_t max_body_bytes);

// The example text of an e-mail: "Subject: <subject>\n<body>".
std::string email_example_text(const EmailText& email);

}  // namespace w2s::tasks
