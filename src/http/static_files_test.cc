#include "http/static_files.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace xai {
namespace {

TEST(StaticFilesTest, TheTableHoldsThePage) {
  std::set<std::string> names;
  for (size_t i = 0; i < kEmbeddedWebFileCount; ++i) names.insert(kEmbeddedWebFiles[i].path);
  EXPECT_TRUE(names.count("index.html"));
  EXPECT_TRUE(names.count("app.js"));
  EXPECT_TRUE(names.count("style.css"));
  EXPECT_EQ(kEmbeddedWebFiles[kEmbeddedWebFileCount].path, nullptr);
}

TEST(StaticFilesTest, RootIsIndexHtml) {
  auto root = FindStaticFile("/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->name, "index.html");
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  auto same = FindStaticFile("/static/index.html");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->content, root->content);
  EXPECT_NE(root->content.find("<!DOCTYPE html>"), std::string::npos);
}

TEST(StaticFilesTest, ContentTypesByExtension) {
  EXPECT_EQ(ContentTypeFor("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("x/y.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("chart.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("a.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("a.jpeg"), "image/jpeg");
  EXPECT_EQ(ContentTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("app.js.map.bak"), "application/octet-stream");
}

TEST(StaticFilesTest, RefusesTraversalAndOddNames) {
  for (const char* path : {"/static/", "/static/../CMakeLists.txt", "/static/../../etc/passwd", "/static/..",
                           "/static/.", "/static/./index.html", "/static//index.html", "/static/index.html/",
                           "/static/..\\index.html", "/static/index.html\n", "/static/missing.js",
                           "/index.html", "/etc/passwd", ""}) {
    auto file = FindStaticFile(path);
    EXPECT_FALSE(file.ok()) << "'" << path << "'";
    if (!file.ok()) {
      EXPECT_EQ(file.status().code(), StatusCode::kNotFound) << path;
    }
  }
  EXPECT_TRUE(IsStaticPath("/"));
  EXPECT_TRUE(IsStaticPath("/static/x"));
  EXPECT_FALSE(IsStaticPath("/static"));
  EXPECT_FALSE(IsStaticPath("/v1/models"));
}

}  // namespace
}  // namespace xai
