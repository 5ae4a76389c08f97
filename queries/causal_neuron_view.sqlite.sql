SELECT neuron.id AS neuron_id, neuron.layer_id AS layer_id, neuron_stat.run_id AS run, neuron_stat.mean AS mean, neuron_stat.std AS std, neuron_stat.min AS min, neuron_stat.max AS max, neuron_stat.fire_rate AS fire_rate, neuron_stat.threshold AS threshold 
FROM neuron LEFT OUTER JOIN neuron_stat ON neuron_stat.neuron_id = neuron.id AND neuron_stat.run_id = ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer = ? AND neuron.unit = ?
-- parameters: {'run_id_1': 4, 'model_id_1': 2, 'site_1': 'mlp', 'layer_1': 2, 'unit_1': 3}
