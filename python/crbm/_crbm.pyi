"""libcrbm bindings (use the estimators in the crbm package)"""

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, overload

from numpy.typing import NDArray


class Error(ValueError):
    pass

class DivergenceError(Error):
    pass

def cuda_available() -> bool:
    """True when libcrbm was built with CUDA and a GPU is visible."""

def cuda_compiled() -> bool:
    """True when libcrbm was built with the CUDA backend."""

class Backend:
    """A compute backend (cpu: OpenBLAS + OpenMP; cuda)."""

    @property
    def device(self) -> str: ...

    def describe(self) -> str: ...

    def synchronize(self) -> None: ...

def make_backend(device: str = 'cpu', threads: int = 0) -> Backend:
    """A backend: 'cpu' (threads <= 0: all cores) or 'cuda' / 'cuda:N'."""

def load_dataset(spec: str, binarize: str = 'none', seed: int = 0, limit: int = 0) -> dict:
    """
    A dataset from a spec (mnist:DIR[:train|test], npy:FILE, builtin:bars, ... as the CLI):
    {'x': float32 (N, D), 'labels': list, 'num_classes', 'image_shape': (C, H, W), 'source'}.
    """

class SgdConfig:
    """The optimizer settings every trainer config has (crbm/sgd.hpp)."""

    def __init__(self) -> None: ...

    @property
    def epochs(self) -> int: ...

    @epochs.setter
    def epochs(self, arg: int, /) -> None: ...

    @property
    def batch_size(self) -> int: ...

    @batch_size.setter
    def batch_size(self, arg: int, /) -> None: ...

    @property
    def learning_rate(self) -> float: ...

    @learning_rate.setter
    def learning_rate(self, arg: float, /) -> None: ...

    @property
    def lr_decay(self) -> float: ...

    @lr_decay.setter
    def lr_decay(self, arg: float, /) -> None: ...

    @property
    def lr_decay_rate(self) -> float: ...

    @lr_decay_rate.setter
    def lr_decay_rate(self, arg: float, /) -> None: ...

    @property
    def lr_floor(self) -> float: ...

    @lr_floor.setter
    def lr_floor(self, arg: float, /) -> None: ...

    @property
    def momentum(self) -> float: ...

    @momentum.setter
    def momentum(self, arg: float, /) -> None: ...

    @property
    def final_momentum(self) -> float: ...

    @final_momentum.setter
    def final_momentum(self, arg: float, /) -> None: ...

    @property
    def momentum_switch_epoch(self) -> int: ...

    @momentum_switch_epoch.setter
    def momentum_switch_epoch(self, arg: int, /) -> None: ...

    @property
    def weight_decay(self) -> float: ...

    @weight_decay.setter
    def weight_decay(self, arg: float, /) -> None: ...

    @property
    def l1_decay(self) -> float: ...

    @l1_decay.setter
    def l1_decay(self, arg: float, /) -> None: ...

    @property
    def sparsity_target(self) -> float: ...

    @sparsity_target.setter
    def sparsity_target(self, arg: float, /) -> None: ...

    @property
    def sparsity_cost(self) -> float: ...

    @sparsity_cost.setter
    def sparsity_cost(self, arg: float, /) -> None: ...

    @property
    def sparsity_decay(self) -> float: ...

    @sparsity_decay.setter
    def sparsity_decay(self, arg: float, /) -> None: ...

    @property
    def seed(self) -> int: ...

    @seed.setter
    def seed(self, arg: int, /) -> None: ...

    @property
    def lr_schedule(self) -> str: ...

    @lr_schedule.setter
    def lr_schedule(self, arg: str, /) -> None: ...

    def learning_rate_at(self, epoch: int, updates: int) -> float: ...

    def momentum_at(self, epoch: int) -> float: ...

class CdConfig:
    """Contrastive-divergence settings of the RBM trainers (crbm/sgd.hpp)."""

    def __init__(self) -> None: ...

    @property
    def cd_k(self) -> int: ...

    @cd_k.setter
    def cd_k(self, arg: int, /) -> None: ...

    @property
    def persistent(self) -> bool: ...

    @persistent.setter
    def persistent(self, arg: bool, /) -> None: ...

    @property
    def pcd_chains(self) -> int: ...

    @pcd_chains.setter
    def pcd_chains(self, arg: int, /) -> None: ...

    @property
    def sample_negative_visible(self) -> bool: ...

    @sample_negative_visible.setter
    def sample_negative_visible(self, arg: bool, /) -> None: ...

    @property
    def divergence_check_every(self) -> int: ...

    @divergence_check_every.setter
    def divergence_check_every(self, arg: int, /) -> None: ...

class TrainConfig(SgdConfig):
    """CD-k / PCD-k settings (crbm/train.hpp)."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    def to_json(self) -> str: ...

    @property
    def resample_binarization(self) -> bool: ...

    @resample_binarization.setter
    def resample_binarization(self, arg: bool, /) -> None: ...

    @property
    def use_cuda_graphs(self) -> bool: ...

    @use_cuda_graphs.setter
    def use_cuda_graphs(self, arg: bool, /) -> None: ...

    @property
    def cd(self) -> CdConfig: ...

    @cd.setter
    def cd(self, arg: CdConfig, /) -> None: ...

class EpochStats:
    """Statistics of one training epoch."""

    @property
    def epoch(self) -> int: ...

    @property
    def updates(self) -> int: ...

    @property
    def reconstruction_error(self) -> float: ...

    @property
    def free_energy_train(self) -> float: ...

    @property
    def free_energy_holdout(self) -> float: ...

    @property
    def seconds(self) -> float: ...

    @property
    def samples_per_second(self) -> float: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def momentum(self) -> float: ...

    @property
    def mean_hidden_activation(self) -> float: ...

class AisConfig:
    """Annealed importance sampling settings (crbm/ais.hpp)."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    @property
    def runs(self) -> int: ...

    @runs.setter
    def runs(self, arg: int, /) -> None: ...

    @property
    def betas(self) -> list[float]: ...

    @betas.setter
    def betas(self, arg: Sequence[float], /) -> None: ...

    @property
    def steps(self) -> int: ...

    @steps.setter
    def steps(self, arg: int, /) -> None: ...

    @property
    def seed(self) -> int: ...

    @seed.setter
    def seed(self, arg: int, /) -> None: ...

    @property
    def flush_every(self) -> int: ...

    @flush_every.setter
    def flush_every(self, arg: int, /) -> None: ...

def ais_schedule(config: AisConfig) -> list[float]: ...

class AisResult:
    """An AIS estimate of log Z with its 3-sigma band."""

    @property
    def log_z(self) -> float: ...

    @property
    def log_z_low(self) -> float: ...

    @property
    def log_z_high(self) -> float: ...

    @property
    def log_z_base(self) -> float: ...

    @property
    def runs(self) -> int: ...

    @property
    def steps(self) -> int: ...

    @property
    def seconds(self) -> float: ...

    @property
    def log_weights(self) -> list[float]: ...

class LikelihoodEstimate:
    @property
    def mean(self) -> float: ...

    @property
    def low(self) -> float: ...

    @property
    def high(self) -> float: ...

def parse_visible_type(arg: str, /) -> str: ...

class RbmParams:
    """Host copy of an RBM's parameters (a checkpoint)."""

    def __init__(self) -> None: ...

    @property
    def weights(self) -> object: ...

    @weights.setter
    def weights(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def visible_bias(self) -> object: ...

    @visible_bias.setter
    def visible_bias(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def hidden_bias(self) -> object: ...

    @hidden_bias.setter
    def hidden_bias(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def visible_sigma(self) -> object: ...

    @visible_sigma.setter
    def visible_sigma(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def visible_type(self) -> str: ...

    @visible_type.setter
    def visible_type(self, arg: str, /) -> None: ...

    @property
    def visible(self) -> int: ...

    @property
    def hidden(self) -> int: ...

class Rbm:
    """A dense RBM on a backend (crbm/rbm.hpp)."""

    @overload
    def __init__(self, backend: Backend, visible: int, hidden: int, visible_type: str = 'bernoulli') -> None: ...

    @overload
    def __init__(self, backend: Backend, params: RbmParams) -> None: ...

    def init_random(self, seed: int, stddev: float = 0.009999999776482582, data: Annotated[NDArray, dict(writable=False)] | None = None) -> None: ...

    @property
    def visible(self) -> int: ...

    @property
    def hidden(self) -> int: ...

    @property
    def visible_type(self) -> str: ...

    @property
    def device(self) -> str: ...

    def to_host(self) -> RbmParams: ...

    def load(self, params: RbmParams) -> None: ...

    def parameters_finite(self) -> bool: ...

    def sample_hidden(self, probs: Annotated[NDArray, dict(writable=False)], seed: int, stream: int = 0, step: int = 0) -> object: ...

    def sample_visible(self, mean: Annotated[NDArray, dict(writable=False)], seed: int, stream: int = 0, step: int = 0) -> object: ...

    def hidden_given_visible(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """P(h=1|v) [N x H] for v [N x V]."""

    def visible_mean_given_hidden(self, h: Annotated[NDArray, dict(writable=False)]) -> object:
        """E[v|h] [N x V] for h [N x H]."""

    def free_energy(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """F(v) [N] for v [N x V]."""

class CdTrainer:
    """CD-k / PCD-k training of an Rbm (crbm/train.hpp)."""

    def __init__(self, rbm: Rbm, config: TrainConfig) -> None: ...

    def train_epoch(self, data: Annotated[NDArray, dict(writable=False)], holdout: Annotated[NDArray, dict(writable=False)] | None = None, stats_rows: int = 1000) -> EpochStats:
        """
        One epoch over data [N x V]: shuffled minibatches, updates, statistics.
        """

    def update(self, batch: Annotated[NDArray, dict(writable=False)]) -> None:
        """One update from a minibatch [B x V]."""

    @property
    def config(self) -> TrainConfig: ...

    @property
    def epoch(self) -> int: ...

    @property
    def updates(self) -> int: ...

    def current_learning_rate(self) -> float: ...

    def current_momentum(self) -> float: ...

def exact_log_partition(rbm: Rbm, max_enumerated_units: int = 30) -> float: ...

def exact_feasible(rbm: Rbm, max_enumerated_units: int = 30) -> bool: ...

def mean_log_likelihood(rbm: Rbm, data: Annotated[NDArray, dict(writable=False)], log_z: float) -> float: ...

def ais_log_partition(rbm: Rbm, base_data: Annotated[NDArray, dict(writable=False)] | None = None, config: AisConfig = ...) -> AisResult: ...

def ais_mean_log_likelihood(rbm: Rbm, data: Annotated[NDArray, dict(writable=False)], ais: AisResult) -> LikelihoodEstimate: ...

def save_rbm(path: str, params: RbmParams, metadata: Mapping[str, str] = {}) -> None: ...

def load_rbm_params(path: str) -> tuple[RbmParams, dict[str, str]]:
    """(RbmParams, metadata) of an RBM checkpoint."""

def load_safetensors(path: str) -> tuple[dict, dict[str, str]]:
    """({name: float32 array}, metadata) of any safetensors file."""

class ConvShape:
    """Geometry of a convolutional RBM (crbm/conv.hpp)."""

    def __init__(self) -> None: ...

    @property
    def channels(self) -> int: ...

    @channels.setter
    def channels(self, arg: int, /) -> None: ...

    @property
    def height(self) -> int: ...

    @height.setter
    def height(self, arg: int, /) -> None: ...

    @property
    def width(self) -> int: ...

    @width.setter
    def width(self, arg: int, /) -> None: ...

    @property
    def filters(self) -> int: ...

    @filters.setter
    def filters(self, arg: int, /) -> None: ...

    @property
    def filter_size(self) -> int: ...

    @filter_size.setter
    def filter_size(self, arg: int, /) -> None: ...

    @property
    def pool(self) -> int: ...

    @pool.setter
    def pool(self, arg: int, /) -> None: ...

    @property
    def hidden_height(self) -> int: ...

    @property
    def hidden_width(self) -> int: ...

    @property
    def pooled_height(self) -> int: ...

    @property
    def pooled_width(self) -> int: ...

    def validate(self) -> None: ...

    def __repr__(self) -> str: ...

class ConvTrainConfig(SgdConfig):
    """ConvTrainer settings (crbm/conv_train.hpp)."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    def to_json(self) -> str: ...

    @property
    def sigma_decay(self) -> float: ...

    @sigma_decay.setter
    def sigma_decay(self, arg: float, /) -> None: ...

    @property
    def sigma_min(self) -> float: ...

    @sigma_min.setter
    def sigma_min(self, arg: float, /) -> None: ...

    @property
    def cd(self) -> CdConfig: ...

    @cd.setter
    def cd(self, arg: CdConfig, /) -> None: ...

class ConvEpochStats:
    """Statistics of one ConvTrainer epoch."""

    @property
    def epoch(self) -> int: ...

    @property
    def updates(self) -> int: ...

    @property
    def reconstruction_error(self) -> float: ...

    @property
    def free_energy(self) -> float: ...

    @property
    def mean_hidden_activation(self) -> float: ...

    @property
    def mean_pooled_activation(self) -> float: ...

    @property
    def sigma(self) -> float: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def seconds(self) -> float: ...

    @property
    def samples_per_second(self) -> float: ...

class ConvRbmParams:
    """Host copy of a ConvRbm (a checkpoint)."""

    def __init__(self) -> None: ...

    @property
    def filters(self) -> object: ...

    @filters.setter
    def filters(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def hidden_bias(self) -> object: ...

    @hidden_bias.setter
    def hidden_bias(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def visible_bias(self) -> object: ...

    @visible_bias.setter
    def visible_bias(self, arg: Annotated[NDArray, dict(writable=False)], /) -> None: ...

    @property
    def sigma(self) -> float: ...

    @sigma.setter
    def sigma(self, arg: float, /) -> None: ...

    @property
    def height(self) -> int: ...

    @height.setter
    def height(self, arg: int, /) -> None: ...

    @property
    def width(self) -> int: ...

    @width.setter
    def width(self, arg: int, /) -> None: ...

    @property
    def pool(self) -> int: ...

    @pool.setter
    def pool(self, arg: int, /) -> None: ...

    @property
    def visible_type(self) -> str: ...

    @visible_type.setter
    def visible_type(self, arg: str, /) -> None: ...

    def shape(self, batch: int = 1) -> ConvShape: ...

class ConvRbm:
    """A convolutional RBM on a backend (crbm/conv_rbm.hpp)."""

    @overload
    def __init__(self, backend: Backend, shape: ConvShape, visible_type: str = 'bernoulli', algo: str = 'auto') -> None: ...

    @overload
    def __init__(self, backend: Backend, params: ConvRbmParams, algo: str = 'auto') -> None: ...

    def init_random(self, seed: int, stddev: float = 0.009999999776482582, data: Annotated[NDArray, dict(writable=False)] | None = None, hidden_bias_init: float = 0.0) -> None: ...

    def shape(self, batch: int = 1) -> ConvShape: ...

    @property
    def visible_size(self) -> int: ...

    @property
    def hidden_size(self) -> int: ...

    @property
    def pooled_size(self) -> int: ...

    @property
    def sigma(self) -> float: ...

    @property
    def visible_type(self) -> str: ...

    def to_host(self) -> ConvRbmParams: ...

    def load(self, params: ConvRbmParams) -> None: ...

    def hidden_given_visible(self, v: Annotated[NDArray, dict(writable=False)], pooled: bool = True) -> object:
        """
        P(pool on|v) (N, K, Hp, Wp), or with pooled=False P(h=1|v) (N, K, Hh, Wh).
        """

    def visible_mean_given_hidden(self, h: Annotated[NDArray, dict(writable=False)]) -> object:
        """E[v|h] [N x C*H*W]."""

    def free_energy(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """F(v) [N]."""

class ConvTrainer:
    """CD-k / PCD-k training of a ConvRbm."""

    def __init__(self, rbm: ConvRbm, config: ConvTrainConfig) -> None: ...

    def train_epoch(self, data: Annotated[NDArray, dict(writable=False)], stats_rows: int = 500) -> ConvEpochStats: ...

    @property
    def config(self) -> ConvTrainConfig: ...

    @property
    def epoch(self) -> int: ...

def conv_exact_log_partition(rbm: ConvRbm, max_visible_units: int = 24) -> float: ...

def save_conv_rbm(path: str, rbm: ConvRbm, metadata: Mapping[str, str] = {}) -> None: ...

def load_conv_rbm_params(path: str, layer: int = 0) -> tuple[ConvRbmParams, dict[str, str]]:
    """
    (ConvRbmParams, metadata) of a conv_rbm checkpoint or of one layer of a cdbn.
    """

class LayerConfig:
    """One layer of a DBN: hidden size and training."""

    def __init__(self) -> None: ...

    @property
    def hidden(self) -> int: ...

    @hidden.setter
    def hidden(self, arg: int, /) -> None: ...

    @property
    def train(self) -> TrainConfig: ...

    @train.setter
    def train(self, arg: TrainConfig, /) -> None: ...

    @property
    def visible_type(self) -> str: ...

    @visible_type.setter
    def visible_type(self, arg: str, /) -> None: ...

class DbnConfig:
    """Architecture and greedy training of a DBN."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    @property
    def layers(self) -> list[LayerConfig]: ...

    @layers.setter
    def layers(self, arg: Sequence[LayerConfig], /) -> None: ...

    @property
    def num_classes(self) -> int: ...

    @num_classes.setter
    def num_classes(self, arg: int, /) -> None: ...

    @property
    def init_stddev(self) -> float: ...

    @init_stddev.setter
    def init_stddev(self, arg: float, /) -> None: ...

class DbnParams:
    """Host copy of a DBN (a checkpoint)."""

    @property
    def layers(self) -> list[RbmParams]: ...

    @property
    def num_classes(self) -> int: ...

class Dbn:
    """A deep belief network on a backend (crbm/dbn.hpp)."""

    @overload
    def __init__(self, backend: Backend, visible: int, config: DbnConfig) -> None: ...

    @overload
    def __init__(self, backend: Backend, params: DbnParams) -> None: ...

    @property
    def depth(self) -> int: ...

    @property
    def visible(self) -> int: ...

    @property
    def num_classes(self) -> int: ...

    def layer_size(self, l: int) -> int: ...

    def pretrain(self, data: Annotated[NDArray, dict(writable=False)], labels: Sequence[int], config: DbnConfig, on_epoch: Callable[[int, EpochStats], None] | None = None) -> None:
        """
        Greedy layer-wise training; on_epoch(layer, EpochStats) after each epoch.
        """

    def up_pass(self, data: Annotated[NDArray, dict(writable=False)], upto: int) -> object: ...

    def classify(self, data: Annotated[NDArray, dict(writable=False)]) -> list[int]: ...

    def class_free_energies(self, data: Annotated[NDArray, dict(writable=False)]) -> object: ...

    def to_host(self) -> DbnParams: ...

class MlpConfig(SgdConfig):
    """Backpropagation settings (crbm/mlp.hpp)."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    def to_json(self) -> str: ...

class MlpEpochStats:
    @property
    def epoch(self) -> int: ...

    @property
    def train_loss(self) -> float: ...

    @property
    def train_error(self) -> float: ...

    @property
    def seconds(self) -> float: ...

    @property
    def learning_rate(self) -> float: ...

class MlpTrainer:
    """A classifier initialised from a DBN and its backpropagation."""

    def __init__(self, dbn: Dbn, classes: int, seed: int, config: MlpConfig) -> None: ...

    def train_epoch(self, data: Annotated[NDArray, dict(writable=False)], labels: Sequence[int]) -> MlpEpochStats: ...

    def predict(self, data: Annotated[NDArray, dict(writable=False)]) -> list[int]: ...

    def save(self, arg0: str, arg1: Mapping[str, str], /) -> None: ...

def save_dbn(path: str, params: DbnParams, metadata: Mapping[str, str] = {}) -> None: ...

def load_dbn_params(path: str) -> tuple[DbnParams, dict[str, str]]:
    """(DbnParams, metadata) of a dbn checkpoint."""

class DbmTrainConfig(SgdConfig):
    """Joint DBM training: mean field + persistent chains (crbm/dbm.hpp)."""

    def __init__(self) -> None: ...

    def validate(self) -> None: ...

    def to_json(self) -> str: ...

    @property
    def mean_field_sweeps(self) -> int: ...

    @mean_field_sweeps.setter
    def mean_field_sweeps(self, arg: int, /) -> None: ...

    @property
    def chains(self) -> int: ...

    @chains.setter
    def chains(self, arg: int, /) -> None: ...

    @property
    def gibbs_steps(self) -> int: ...

    @gibbs_steps.setter
    def gibbs_steps(self, arg: int, /) -> None: ...

    @property
    def resample_binarization(self) -> bool: ...

    @resample_binarization.setter
    def resample_binarization(self, arg: bool, /) -> None: ...

class DbmEpochStats:
    """Statistics of one joint DBM epoch."""

    @property
    def epoch(self) -> int: ...

    @property
    def seconds(self) -> float: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def momentum(self) -> float: ...

    @property
    def reconstruction_error(self) -> float: ...

    @property
    def mean_activation(self) -> list[float]: ...

    @property
    def warnings(self) -> list[str]: ...

class DbmParams:
    """Host copy of a DBM's parameters (a checkpoint)."""

    def __init__(self) -> None: ...

    @property
    def weights(self) -> list:
        """W_l [n_l, n_{l+1}] per hidden layer (NumPy copies)."""

    @weights.setter
    def weights(self, arg: Sequence[Annotated[NDArray, dict(writable=False)]], /) -> None: ...

    @property
    def biases(self) -> list:
        """b_l [n_l] per layer, the visible bias first (NumPy copies)."""

    @biases.setter
    def biases(self, arg: Sequence[Annotated[NDArray, dict(writable=False)]], /) -> None: ...

    def layer_size(self, l: int) -> int: ...

class Dbm:
    """A binary deep Boltzmann machine on a backend (crbm/dbm.hpp)."""

    @overload
    def __init__(self, backend: Backend, visible: int, hidden: Sequence[int]) -> None: ...

    @overload
    def __init__(self, backend: Backend, params: DbmParams) -> None: ...

    @property
    def depth(self) -> int: ...

    def layer_size(self, l: int) -> int: ...

    def pretrain(self, data: Annotated[NDArray, dict(writable=False)], layers: Sequence[TrainConfig], init_stddev: float = 0.009999999776482582, on_epoch: Callable[[int, EpochStats], None] | None = None) -> None:
        """
        Greedy doubled-input pretraining, one TrainConfig per hidden layer; on_epoch(layer, EpochStats) after each epoch.
        """

    def mean_field(self, data: Annotated[NDArray, dict(writable=False)], sweeps: int = 10) -> list:
        """
        Mean-field posteriors mu_l [N x n_l] of the hidden layers l = 1..L (NumPy).
        """

    def sample(self, chains: int, steps: int, seed: int) -> object:
        """
        Gibbs chains from random states: P(v|h1) after `steps` steps [chains x V].
        """

    def bipartite_rbm(self) -> RbmParams:
        """
        The equivalent RBM between the even layers [v | h2] and the odd ones [h1 | h3].
        """

    def exact_log_partition(self) -> float: ...

    def ais_log_partition(self, base_data: Annotated[NDArray, dict(writable=False)], config: AisConfig = ..., base_rows: int = 10000) -> AisResult:
        """
        AIS on the bipartite RBM; base rates from base_data [N x V] (at most base_rows).
        """

    def lower_bound(self, data: Annotated[NDArray, dict(writable=False)], log_z: float, sweeps: int = 30, batch: int = 1000) -> list[float]:
        """The mean-field variational lower bound on log p(v) per row."""

    def to_host(self) -> DbmParams: ...

    def load(self, params: DbmParams) -> None: ...

class DbmTrainer:
    """Joint training of a Dbm (crbm/dbm.hpp)."""

    def __init__(self, dbm: Dbm, config: DbmTrainConfig) -> None: ...

    def train_epoch(self, data: Annotated[NDArray, dict(writable=False)]) -> DbmEpochStats:
        """
        One epoch over data [N x V]: shuffled minibatches, updates, statistics.
        """

    def update(self, batch: Annotated[NDArray, dict(writable=False)]) -> None:
        """One update from a minibatch [B x V]."""

    def resume(self, epochs_done: int, updates_done: int) -> None:
        """
        Continue after epochs_done epochs and updates_done updates (before any update).
        """

    @property
    def epoch(self) -> int: ...

    @property
    def updates(self) -> int: ...

def save_dbm(path: str, params: DbmParams, metadata: Mapping[str, str] = {}) -> None: ...

def load_dbm_params(path: str) -> tuple[DbmParams, dict[str, str]]:
    """(DbmParams, metadata) of a dbm checkpoint."""

class SoftmaxRbm:
    """
    An RBM with softmax visible units: replicated (word counts) or K-way groups (crbm/softmax_rbm.hpp).
    """

    @overload
    def __init__(self, backend: Backend, visible: int, hidden: int, kind: str = 'replicated', group: int = 0) -> None: ...

    @overload
    def __init__(self, backend: Backend, params: RbmParams, kind: str = 'replicated', group: int = 0) -> None: ...

    @property
    def kind(self) -> str: ...

    @property
    def group(self) -> int: ...

    @property
    def visible(self) -> int: ...

    @property
    def hidden(self) -> int: ...

    def to_host(self) -> RbmParams: ...

    def load(self, params: RbmParams) -> None: ...

    def init_random(self, seed: int, stddev: float = 0.009999999776482582, data: Annotated[NDArray, dict(writable=False)] | None = None) -> None:
        """
        W ~ N(0, stddev^2), c = 0, b = log smoothed unit frequencies of data (host).
        """

    def exact_log_partition(self, length: int = 1) -> float:
        """log Z_D by enumerating h (H <= 24)."""

    def lengths(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """D per row [N] (replicated: the word counts' sums)."""

    def hidden_given_visible(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """P(h=1|v) [N x H]."""

    def visible_probs_given_hidden(self, h: Annotated[NDArray, dict(writable=False)]) -> object:
        """softmax(b + W h) per group [N x V]."""

    def free_energy(self, v: Annotated[NDArray, dict(writable=False)]) -> object:
        """F(v) [N]."""

    def sample_hidden(self, probs: Annotated[NDArray, dict(writable=False)], seed: int, step: int = 0) -> object:
        """Binary h ~ Bernoulli(probs)."""

    def sample_visible(self, probs: Annotated[NDArray, dict(writable=False)], lengths: Annotated[NDArray, dict(writable=False)], seed: int, step: int = 0) -> object:
        """
        Counts of lengths[r] draws from probs row r (replicated), one-hot per group.
        """

    def ais_log_partition(self, base_data: Annotated[NDArray, dict(writable=False)] | None = None, config: AisConfig = ..., length: int = 1) -> AisResult:
        """AIS estimate of log Z_D for documents of length D."""

    def log_prob(self, v: Annotated[NDArray, dict(writable=False)], log_z_by_length: Mapping[int, float]) -> list[float]:
        """log P(v) per row given {D: log Z_D} for every length D in v."""

class SoftmaxCdTrainer:
    """CD-k training of a SoftmaxRbm."""

    def __init__(self, model: SoftmaxRbm, config: TrainConfig) -> None: ...

    def train_epoch(self, data: Annotated[NDArray, dict(writable=False)]) -> EpochStats:
        """
        One epoch over data [N x V]: shuffled minibatches, updates, statistics.
        """

    def update(self, batch: Annotated[NDArray, dict(writable=False)]) -> None:
        """One update from a minibatch [B x V]."""

def save_softmax_rbm(path: str, model: SoftmaxRbm, metadata: Mapping[str, str] = {}) -> None: ...

def load_softmax_rbm(backend: Backend, path: str) -> SoftmaxRbm:
    """
    The SoftmaxRbm of a softmax_rbm checkpoint (metadata: load_safetensors).
    """
