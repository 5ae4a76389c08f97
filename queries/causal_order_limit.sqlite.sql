SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) IS NOT NULL ORDER BY atlas_value(s0.vals, neuron.unit % ?) DESC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'set_id_1': 407, 'unit_2': 256, 'model_id_1': 3, 'site_1': 'mlp', 'param_1': 6, 'param_2': 0}
-- score sets read:
-- ablation(noun) of minilm: run 5, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
