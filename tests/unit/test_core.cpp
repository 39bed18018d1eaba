#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/output_folder.h"
#include "core/philox.h"
#include "core/sha256.h"
#include "io/h5.h"
#include "test_util.h"

using namespace w2s;

TEST(Philox, DependsOnlyOnSeedStreamIndex) {
  EXPECT_EQ(philox4x32(1, 2, 3), philox4x32(1, 2, 3));
  EXPECT_NE(philox4x32(1, 2, 3), philox4x32(1, 2, 4));
  EXPECT_NE(philox4x32(1, 2, 3), philox4x32(1, 3, 3));
  EXPECT_NE(philox4x32(1, 2, 3), philox4x32(2, 2, 3));
}

TEST(Philox, KnownAnswer) {
  // Random123's published Philox4x32-10 test vector: counter = key = 0.
  Philox4 r = philox4x32(0, 0, 0);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
}

TEST(Philox, NormalMoments) {
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = philox_normal(7, 11, static_cast<uint64_t>(i));
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
}

TEST(Sha256, KnownAnswer) {
  EXPECT_EQ(sha256_hex(std::string("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AtomicOutput, NothingLeftWithoutCommit) {
  test::TempDir dir;
  std::string final = dir.file("out.txt");
  {
    AtomicOutput out(final);
    test::write_file(out.temp_path(), "partial");
  }
  EXPECT_FALSE(file_exists(final));
  write_text_atomic(final, "done");
  EXPECT_EQ(read_text_file(final), "done");
}

TEST(AtomicOutput, TempNameRecordsItsWriter) {
  test::TempDir dir;
  AtomicOutput out(dir.file("out.txt"));
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(out.temp_path(), dir.file("out.txt") + ".tmp.w2s." + std::to_string(::getpid()) + "@" + host);
}

TEST(RemoveStaleTemps, OnlyADeadWriterOfThisHost) {
  test::TempDir dir;
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  pid_t child = 4194303;  // the largest pid Linux allows: find one that is not alive now
  while (child > 2 && (::kill(child, 0) == 0 || errno != ESRCH)) --child;
  const std::string dead = "a.h5.tmp.w2s." + std::to_string(child) + "@" + host;
  const std::vector<std::string> kept = {"notes.tmp.keep", "x.tmp.y", "a.h5.tmp.12345",
                                         "a.h5.tmp.w2s." + std::to_string(child) + "@another-host",
                                         "a.h5.tmp.w2s." + std::to_string(::getppid()) + "@" + host};
  for (const auto& name : kept) test::write_file(dir.file(name), "x");
  test::write_file(dir.file(dead), "x");
  EXPECT_EQ(remove_stale_temps(dir.path()), 1);
  EXPECT_FALSE(file_exists(dir.file(dead)));
  for (const auto& name : kept) EXPECT_TRUE(file_exists(dir.file(name))) << name;
}

TEST(OutputLock, SecondHolderRefusedUntilReleased) {
  test::TempDir dir;
  const std::string folder = dir.file("run");
  {
    OutputLock first = OutputLock::acquire(folder, "w2s train --run-dir run");
    EXPECT_TRUE(first.held());
    // flock locks belong to the open file, so even this process cannot take it twice.
    test::expect_error([&] { OutputLock::acquire(folder, "w2s label --out-dir run"); }, ExitCode::Usage,
                       {folder + " is in use", "pid " + std::to_string(::getpid()) + " on host", "w2s train --run-dir run"});
  }
  // Released: the lock file and the folder it created are gone, and the folder is free again.
  EXPECT_FALSE(file_exists(folder));
  {
    OutputLock again = OutputLock::acquire(folder, "again");
    EXPECT_TRUE(again.held());
    test::write_file(folder + "/out.txt", "x");
  }
  EXPECT_TRUE(file_exists(folder + "/out.txt"));
  EXPECT_FALSE(file_exists(folder + "/" + kOutputLockName));
}

TEST(SameFile, ResolvesSpellingsAndLinks) {
  test::TempDir dir;
  test::write_file(dir.file("a.h5"), "x");
  std::filesystem::create_directories(dir.file("sub"));
  std::filesystem::create_symlink(dir.file("a.h5"), dir.file("link.h5"));
  EXPECT_TRUE(same_file(dir.file("a.h5"), dir.file("sub/../a.h5")));
  EXPECT_TRUE(same_file(dir.file("a.h5"), dir.file("link.h5")));
  EXPECT_TRUE(same_file(dir.file("new.h5"), dir.file("sub/../new.h5")));  // neither exists yet
  EXPECT_FALSE(same_file(dir.file("a.h5"), dir.file("b.h5")));
  test::expect_error([&] { require_outputs_not_inputs({{"--out", dir.file("link.h5")}}, {{"--model", dir.file("a.h5")}}); },
                     ExitCode::Usage, {"--out", "is the same file as --model", "a.h5"});
}

TEST(H5, RoundTripDatasetsAttributesRows) {
  test::TempDir dir;
  std::string path = dir.file("x.h5");
  {
    h5::File f = h5::File::create(path);
    std::vector<float> a = {1, 2, 3, 4, 5, 6};
    f.write<float>("/g/a", {3, 2}, a.data());
    f.set_attr("/", "name", std::string("hello"));
    f.set_attr("/g/a", "n", int64_t{42});
    f.set_attr("/", "t", 0.5);
    f.stamp("test_file");
    f.create_extendable<int64_t>("/ids", {}, 4);
    std::vector<int64_t> ids = {7, 8, 9};
    f.append_rows<int64_t>("/ids", ids.data(), 3);
    f.append_rows<int64_t>("/ids", ids.data(), 2);
  }
  h5::File f = h5::File::open_read(path);
  f.require_kind("test_file");
  EXPECT_THROW(f.require_kind("checkpoint"), Error);
  EXPECT_EQ(f.shape("/g/a"), (h5::Shape{3, 2}));
  EXPECT_EQ(f.read<float>("/g/a")[5], 6.0f);
  float row[2];
  f.read_rows<float>("/g/a", 1, 1, row);
  EXPECT_EQ(row[0], 3.0f);
  EXPECT_EQ(f.attr_string("/", "name"), "hello");
  EXPECT_EQ(f.attr_int("/g/a", "n"), 42);
  EXPECT_EQ(f.attr_double("/", "t"), 0.5);
  EXPECT_EQ(f.read<int64_t>("/ids"), (std::vector<int64_t>{7, 8, 9, 7, 8}));
  EXPECT_THROW(f.read<int32_t>("/g/a"), Error);  // wrong element class
  EXPECT_THROW(f.read<float>("/missing"), Error);
}

TEST(H5, RefusesForeignAndTruncatedFiles) {
  test::TempDir dir;
  test::write_file(dir.file("text.h5"), "not hdf5 at all");
  EXPECT_THROW(h5::File::open_read(dir.file("text.h5")), Error);
  EXPECT_THROW(h5::File::open_read(dir.file("absent.h5")), Error);
  {
    h5::File f = h5::File::create(dir.file("ok.h5"));
    std::vector<float> big(100000, 1.0f);
    f.write("/big", big);
  }
  std::filesystem::resize_file(dir.file("ok.h5"), 2000);
  try {
    h5::File f = h5::File::open_read(dir.file("ok.h5"));
    f.read<float>("/big");
    FAIL() << "truncated file was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ok.h5"), std::string::npos);
  }
}
