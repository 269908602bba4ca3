//! The registry: every experiment that `cargo xtask experiments` knows, in report order.
//! Adding an experiment is one line here plus its file under `experiments/`.

use crate::experiment::Experiment;
use crate::experiments::approximation::approximation_rates::ApproximationRates;
use crate::experiments::approximation::barron_dimension_free::BarronDimensionFree;
use crate::experiments::approximation::learnability_gap::LearnabilityGap;
use crate::experiments::approximation::polynomial_floor::PolynomialFloor;
use crate::experiments::backprop::autodiff_cost::AutodiffCost;
use crate::experiments::backprop::checkpointing_memory::CheckpointingMemory;
use crate::experiments::backprop::conv_gradient_check::ConvGradientCheck;
use crate::experiments::backprop::rnn_gradient_flow::RnnGradientFlow;
use crate::experiments::backprop::truncated_bptt::TruncatedBpttBias;
use crate::experiments::expressivity::boolean_functions_width::BooleanFunctionsWidth;
use crate::experiments::expressivity::compositional_deep_vs_shallow::CompositionalDeepVsShallow;
use crate::experiments::expressivity::linear_regions_depth_width::LinearRegionsDepthWidth;
use crate::experiments::expressivity::parity_representation_vs_learning::ParityRepresentationVsLearning;
use crate::experiments::expressivity::sawtooth_depth_separation::SawtoothDepthSeparation;
use crate::experiments::foundations::gemm_throughput::GemmThroughput;
use crate::experiments::foundations::softmax_stability::SoftmaxStability;
use crate::experiments::init::correlation_map::CorrelationMapIterates;
use crate::experiments::init::init_activation_statistics::InitActivationStatistics;
use crate::experiments::init::init_designed_activation::InitDesignedActivation;
use crate::experiments::init::init_trainability_depth::InitTrainabilityDepth;
use crate::experiments::init::phase_diagram::PhaseDiagram;
use crate::experiments::norm::norm_batch_size::NormBatchSize;
use crate::experiments::norm::norm_landscape::NormLandscapeSmoothness;
use crate::experiments::norm::norm_lr_range::NormLrRange;
use crate::experiments::norm::norm_training::NormTrainingCurves;
use crate::experiments::ntk::ntk_cnn_gap::NtkCnnGap;
use crate::experiments::ntk::ntk_finite_vs_infinite::NtkFiniteVsInfinite;
use crate::experiments::ntk::ntk_generalisation_bound::NtkGeneralisationBound;
use crate::experiments::ntk::ntk_lazy_vs_feature_learning::NtkLazyVsFeatureLearning;
use crate::experiments::research::double_descent_mlp::DoubleDescentMlp;
use crate::experiments::research::double_descent_random_features::DoubleDescentRandomFeatures;
use crate::experiments::research::feature_learning_mup::FeatureLearningMup;
use crate::experiments::research::grokking::Grokking;
use crate::experiments::research::implicit_regularisation_least_squares::ImplicitRegularisationLeastSquares;
use crate::experiments::research::implicit_regularisation_logistic::ImplicitRegularisationLogistic;
use crate::experiments::research::implicit_regularisation_matrix_factorisation::ImplicitRegularisationMatrixFactorisation;
use crate::experiments::research::lottery_tickets::LotteryTickets;
use crate::experiments::research::scaling_laws_mnist1d::ScalingLawsMnist1d;
use crate::experiments::research::scaling_laws_teacher_student::ScalingLawsTeacherStudent;
use crate::experiments::synthesis::digits_cnn::DigitsCnn;
use crate::experiments::synthesis::digits_mlp::DigitsMlp;
use crate::experiments::synthesis::framework_theoretical_analysis::FrameworkTheoreticalAnalysis;
use crate::experiments::synthesis::mnist1d_table::Mnist1dTable;

/// Every registered experiment.
pub fn all() -> Vec<Box<dyn Experiment>> {
    vec![
        Box::new(GemmThroughput),
        Box::new(SoftmaxStability),
        Box::new(ApproximationRates),
        Box::new(PolynomialFloor),
        Box::new(BarronDimensionFree),
        Box::new(LearnabilityGap),
        Box::new(SawtoothDepthSeparation),
        Box::new(ParityRepresentationVsLearning),
        Box::new(BooleanFunctionsWidth),
        Box::new(CompositionalDeepVsShallow),
        Box::new(LinearRegionsDepthWidth),
        Box::new(AutodiffCost),
        Box::new(CheckpointingMemory),
        Box::new(ConvGradientCheck),
        Box::new(TruncatedBpttBias),
        Box::new(RnnGradientFlow),
        Box::new(PhaseDiagram),
        Box::new(CorrelationMapIterates),
        Box::new(DigitsMlp),
        Box::new(DigitsCnn),
        Box::new(Mnist1dTable),
        Box::new(FrameworkTheoreticalAnalysis),
        Box::new(InitActivationStatistics),
        Box::new(NormTrainingCurves),
        Box::new(NormLandscapeSmoothness),
        Box::new(NormLrRange),
        Box::new(NormBatchSize),
        Box::new(InitDesignedActivation),
        Box::new(InitTrainabilityDepth),
        Box::new(NtkFiniteVsInfinite),
        Box::new(NtkLazyVsFeatureLearning),
        Box::new(NtkGeneralisationBound),
        Box::new(NtkCnnGap),
        Box::new(DoubleDescentRandomFeatures),
        Box::new(DoubleDescentMlp),
        Box::new(ImplicitRegularisationLeastSquares),
        Box::new(ImplicitRegularisationMatrixFactorisation),
        Box::new(ImplicitRegularisationLogistic),
        Box::new(ScalingLawsMnist1d),
        Box::new(ScalingLawsTeacherStudent),
        Box::new(LotteryTickets),
        Box::new(Grokking),
        Box::new(FeatureLearningMup),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let all = all();
        let mut ids: Vec<&str> = all.iter().map(|e| e.id()).collect();
        for id in &ids {
            let ok = !id.is_empty()
                && !id.starts_with('-')
                && !id.ends_with('-')
                && !id.contains("--")
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(ok, "id {id:?} is not kebab-case");
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate ids");
        assert!(all.iter().all(|e| !e.title().is_empty() && !e.section().is_empty()));
    }
}
