#include "api/visualizations.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/text.h"
#include "render/attribution_image.h"
#include "render/bar_chart.h"
#include "render/image_tensor.h"
#include "render/png.h"
#include "render/visualization.h"

namespace xai {
namespace {

StatusOr<Picture> ImagePicture(const BoundInput& input, const Tensor& attribution, const Tensor* original,
                               const std::string& method) {
  const InputMetadata& md = input.metadata;
  XAI_ASSIGN_OR_RETURN(Visualization visualization,
                       ParseVisualization(md.visualization, method, "metadata inputs." + md.name + ".visualization"));
  std::optional<Image> base;
  if (original != nullptr && original->shape == attribution.shape) {
    const ValueRange range = md.domain ? ValueRange{md.domain->min, md.domain->max} : DisplayRange(*original);
    StatusOr<Image> image = ImageFromTensorRow(*original, range);
    if (image.ok()) base = std::move(image).value();  // other channel counts: drawn without a base
  }
  XAI_ASSIGN_OR_RETURN(Image picture, RenderAttributionImage(attribution, visualization, base ? &*base : nullptr));
  XAI_ASSIGN_OR_RETURN(std::string png, EncodePng(picture));
  return Picture{"image/png", std::move(png)};
}

// "name[i]" / "name[i,j]" for element `flat` of a row of shape `row_shape`.
std::string ElementLabel(const std::string& name, const Shape& row_shape, int64_t flat) {
  if (row_shape.empty()) return name;
  std::vector<int64_t> index(row_shape.size());
  for (size_t d = row_shape.size(); d-- > 0;) {
    index[d] = row_shape[d] > 0 ? flat % row_shape[d] : 0;
    flat = row_shape[d] > 0 ? flat / row_shape[d] : 0;
  }
  std::string label = name + "[";
  for (size_t d = 0; d < index.size(); ++d) label += (d ? "," : "") + std::to_string(index[d]);
  return label + "]";
}

// The top features of one input's attributions, labelled.
std::vector<BarChartFeature> InputFeatures(const InputMetadata& md, const Tensor& attribution) {
  const std::vector<double>& values = attribution.values;
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  auto magnitude = [&](size_t i) { return std::isfinite(values[i]) ? std::fabs(values[i]) : 0.0; };
  const size_t top = std::min(order.size(), static_cast<size_t>(kBarChartTopFeatures));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&](size_t a, size_t b) { return magnitude(a) > magnitude(b) || (magnitude(a) == magnitude(b) && a < b); });
  const bool named = md.index_feature_mapping.size() == values.size();
  std::vector<BarChartFeature> features;
  for (size_t k = 0; k < top; ++k) {
    const size_t i = order[k];
    features.push_back({named ? md.index_feature_mapping[i]
                              : ElementLabel(md.name, attribution.row_shape(), static_cast<int64_t>(i)),
                        values[i]});
  }
  return features;
}

Picture ChartPicture(const std::string& key, const std::vector<BarChartFeature>& features, size_t total) {
  BarChartOptions options;
  options.top_n = kBarChartTopFeatures;
  options.title = key + ": " + (total > features.size() ? "top " + std::to_string(features.size()) + " of " : "") +
                  std::to_string(total) + (total == 1 ? " feature" : " features") + " by |attribution|";
  return Picture{"image/svg+xml", RenderBarChartSvg(features, options)};
}

}  // namespace

bool IsImageAttribution(const BoundInput& input, const Tensor& attribution) {
  if (input.folds_embedding || !IsImageRowShape(attribution.shape)) return false;
  const std::string& modality = input.metadata.modality;
  if (modality == "image") return true;
  if (modality != "numeric") return false;
  return IsFloating(input.tensor.dtype) && attribution.shape.size() == 4 &&
         (attribution.shape[3] == 1 || attribution.shape[3] == 3);
}

Status CheckVisualizationMetadata(const ExplanationMetadata& metadata, std::vector<std::string>* notes) {
  for (const InputMetadata& md : metadata.inputs) {
    const std::string where = metadata.source + ": inputs." + md.name + ".visualization";
    XAI_ASSIGN_OR_RETURN(Visualization v, ParseVisualization(md.visualization, "integrated-gradients", where));
    if (notes == nullptr || v.not_drawn.empty()) continue;
    notes->push_back(where + ": " + JoinWithCommas(v.not_drawn) + " accepted but not applied to xaiserve's pictures");
  }
  return OkStatus();
}

StatusOr<std::vector<EntryPictures>> RenderExplanationPictures(const InstanceExplanation& explanation,
                                                               const std::vector<BoundInput>& inputs,
                                                               const std::vector<const Tensor*>& originals) {
  std::vector<EntryPictures> all;
  for (const OutputAttribution& out : explanation.outputs) {
    const std::vector<Tensor>& attributions = out.attribution.attributions;
    EntryPictures pictures;
    // Groups: member name -> summed attribution, in order of first member.
    std::vector<std::pair<std::string, std::vector<BarChartFeature>>> groups;
    for (size_t i = 0; i < attributions.size() && i < inputs.size(); ++i) {
      const InputMetadata& md = inputs[i].metadata;
      const Tensor& attribution = attributions[i];
      if (IsImageAttribution(inputs[i], attribution)) {
        const Tensor* original = i < originals.size() ? originals[i] : nullptr;
        XAI_ASSIGN_OR_RETURN(Picture picture, ImagePicture(inputs[i], attribution, original, explanation.method));
        pictures.emplace_back(md.name, std::move(picture));
        continue;
      }
      if (md.group_name.empty()) {
        pictures.emplace_back(md.name, ChartPicture(md.name, InputFeatures(md, attribution), attribution.values.size()));
        continue;
      }
      double sum = 0;
      for (double v : attribution.values) sum += std::isfinite(v) ? v : 0;
      auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == md.group_name; });
      if (group == groups.end()) {
        groups.emplace_back(md.group_name, std::vector<BarChartFeature>{});
        group = groups.end() - 1;
      }
      group->second.push_back({md.name, sum});
    }
    for (const auto& [name, members] : groups) pictures.emplace_back(name, ChartPicture(name, members, members.size()));
    all.push_back(std::move(pictures));
  }
  return all;
}

StatusOr<std::vector<EntryPictures>> RenderExplanationPictures(const ExplainableModel& model,
                                                               const InstanceExplanation& explanation,
                                                               const NamedTensors& instance) {
  // The instance's tensors are the attributed ones only without preprocessing.
  const bool instance_is_attributed = model.selection().preprocess_key.empty();
  std::vector<const Tensor*> originals;
  for (const BoundInput& input : model.explained_inputs()) {
    auto it = instance.find(input.signature_key);
    originals.push_back(instance_is_attributed && !input.signature_key.empty() && it != instance.end() ? &it->second
                                                                                                      : nullptr);
  }
  return RenderExplanationPictures(explanation, model.explained_inputs(), originals);
}

}  // namespace xai
