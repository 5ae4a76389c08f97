SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0, atlas_value(s1.vals, neuron.unit % ?) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? JOIN score_vector AS s1 ON s1.set_id = ? AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) > ? AND atlas_value(s1.vals, neuron.unit % ?) > ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'unit_2': 256, 'set_id_1': 227, 'unit_3': 256, 'set_id_2': 407, 'unit_4': 256, 'model_id_1': 3, 'site_1': 'mlp', 'param_1': 0.800000011920929, 'param_2': 0.009999999776482582, 'param_3': 101, 'param_4': 0}
-- score sets read:
-- ap(noun) of minilm: run 5, method row 4 {}
-- ablation(noun) of minilm: run 5, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
