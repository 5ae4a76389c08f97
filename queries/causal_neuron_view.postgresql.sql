SELECT neuron.id AS neuron_id, neuron.layer_id AS layer_id, neuron_stat.run_id AS run, neuron_stat.mean AS mean, neuron_stat.std AS std, neuron_stat.min AS min, neuron_stat.max AS max, neuron_stat.fire_rate AS fire_rate, neuron_stat.threshold AS threshold 
FROM neuron LEFT OUTER JOIN neuron_stat ON neuron_stat.neuron_id = neuron.id AND neuron_stat.run_id = %(run_id_1)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER
-- parameters: {'run_id_1': 4, 'model_id_1': 2, 'site_1': 'mlp', 'layer_1': 2, 'unit_1': 3}
